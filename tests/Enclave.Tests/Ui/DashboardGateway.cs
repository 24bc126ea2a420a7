using System.Net;
using Enclave.Tests.Infrastructure;
using Enclave.Tests.Security.Auth;

namespace Enclave.Tests.Ui;

/// <summary>
/// One gateway with keys (so nothing is anonymous) for the dashboard's HTTP tests: an admin key, an admin key the
/// tests may revoke, and an ordinary key. No model: the tests are about who may see what. Requests go through
/// <see cref="Http"/>, which keeps no cookies and follows no redirects, so each test states exactly what it sends.
/// </summary>
public sealed class DashboardGateway : IAsyncLifetime
{
    public GatewayProcess Gateway { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "enclave-ui-" + Guid.NewGuid().ToString("N"));

    public (string Id, string Key) Admin { get; private set; }

    public (string Id, string Key) Revocable { get; private set; }

    public (string Id, string Key) User { get; private set; }

    public async Task InitializeAsync()
    {
        Admin = await KeyCli.CreateAsync(DataDir, "ops", "--scopes", "admin");
        Revocable = await KeyCli.CreateAsync(DataDir, "ops-temp", "--scopes", "admin");
        User = await KeyCli.CreateAsync(DataDir, "app");
        Gateway = await GatewayProcess.StartAsync([], dataDir: DataDir);
        Http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = Gateway.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Gateway.DisposeAsync();
        Directory.Delete(DataDir, recursive: true);
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? bearer = null, string? cookie = null, HttpContent? content = null, string? origin = null, string? fetchSite = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (bearer is not null)
        {
            request.Headers.Authorization = new("Bearer", bearer);
        }

        if (cookie is not null)
        {
            request.Headers.Add("Cookie", "enclave_ui=" + cookie);
        }

        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        if (fetchSite is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
        }

        return await Http.SendAsync(request);
    }

    public Task<HttpResponseMessage> SignInAsync(string key, string? origin = null, string? fetchSite = null) =>
        SendAsync(HttpMethod.Post, "/ui/login", content: new FormUrlEncodedContent([new("key", key)]), origin: origin, fetchSite: fetchSite);

    /// <summary>The sum of <c>enclave_auth_rejections_total</c> over its series, read with the admin key.</summary>
    public async Task<long> AuthRejectionsAsync()
    {
        using var response = await SendAsync(HttpMethod.Get, "/metrics", bearer: Admin.Key);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var scrape = await response.Content.ReadAsStringAsync();
        return scrape.Split('\n')
            .Where(l => l.StartsWith("enclave_auth_rejections_total{", StringComparison.Ordinal))
            .Sum(l => long.Parse(l.Split('#')[0].TrimEnd().Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
