using System.Net;
using System.Text;
using Enclave.Hosting;
using Enclave.Security.Auth;
using Enclave.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;

namespace Enclave.Tests.Security.Auth;

public sealed class ExposureTests
{
    [Fact]
    public void EndpointTable_EveryRouteButHealthAndReadiness_DeclaresAPolicy()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "enclave-endpoints-" + Guid.NewGuid().ToString("N"));
        var configuration = EnclaveConfiguration.Build(null, "http://127.0.0.1:0", [$"m={TestModels.Stories}"], dataDir);
        var app = GatewayHost.Build(configuration);

        var endpoints = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>().ToList();

        Assert.True(endpoints.Count >= 10, $"only {endpoints.Count} endpoints found");
        foreach (var endpoint in endpoints)
        {
            var pattern = endpoint.RoutePattern.RawText ?? "";
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy ?? "").ToList();
            // Open by design and carrying no data: health, readiness, and the dashboard's sign-in, sign-out and static files.
            if (pattern is "/healthz" or "/readyz" or "/ui/login" or "/ui/logout" or "/ui/assets/{name}")
            {
                Assert.True(anonymous, $"{pattern} should be open");
                continue;
            }

            Assert.False(anonymous, $"{pattern} is open");
            Assert.True(policies.Count > 0, $"{pattern} declares no policy");
            Assert.All(policies, p => Assert.Contains(p, new[] { AuthPolicies.Inference, AuthPolicies.Embeddings, AuthPolicies.Models, AuthPolicies.Admin, AuthPolicies.AnyKey }));
            if (pattern.StartsWith("/admin", StringComparison.Ordinal))
            {
                Assert.Contains(AuthPolicies.Admin, policies);
            }
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1:8400", true)]
    [InlineData("http://localhost:8400", true)]
    [InlineData("http://[::1]:8400", true)]
    [InlineData("https://127.0.0.2:443", true)]
    [InlineData("http://0.0.0.0:8400", false)]
    [InlineData("http://*:8400", false)]
    [InlineData("http://+:8400", false)]
    [InlineData("http://[::]:8400", false)]
    [InlineData("http://10.1.2.3:8400", false)]
    [InlineData("http://gateway.internal:8400", false)]
    public void IsLoopback_ClassifiesListenUrls(string url, bool loopback)
    {
        Assert.Equal(loopback, SecurityStartup.IsLoopback(url));
    }

    [Fact]
    public async Task Serve_NonLoopbackWithoutKeys_RefusesToStart()
    {
        await using var gateway = await GatewayProcess.StartAsync([], waitReady: false, urls: $"http://0.0.0.0:{GatewayProcess.FreeTcpPort()}");

        Assert.Equal(2, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("without API keys", gateway.Output);
    }

    [Fact]
    public async Task Serve_NonLoopbackWithKeys_Starts()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "enclave-exposed-" + Guid.NewGuid().ToString("N"));
        var key = await KeyCli.CreateAsync(dataDir, "ops");
        var port = GatewayProcess.FreeTcpPort();
        await using var gateway = await GatewayProcess.StartAsync([], dataDir: dataDir, waitReady: false, urls: $"http://0.0.0.0:{port}");

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        HttpResponseMessage? ready = null;
        for (var i = 0; i < 100 && ready?.StatusCode != HttpStatusCode.OK; i++)
        {
            await Task.Delay(100);
            try
            {
                ready = await http.GetAsync("/readyz");
            }
            catch (HttpRequestException)
            {
            }
        }

        Assert.Equal(HttpStatusCode.OK, ready?.StatusCode);
        using var anonymous = await http.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key.Key);
        using var authorized = await http.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, authorized.StatusCode);
    }

    [Fact]
    public async Task Loopback_NoKeys_ServesAnonymouslyWithWarning_UntilTheFirstKeyExists()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "enclave-anon-" + Guid.NewGuid().ToString("N"));
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories)], dataDir: dataDir);
        const string body = """{"model":"stories","prompt":"Once","max_tokens":2}""";

        using var before = await gateway.Http.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Contains("NO API KEYS EXIST", gateway.Output);

        await KeyCli.CreateAsync(dataDir, "first");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            using var after = await gateway.Http.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
            if (after.StatusCode == HttpStatusCode.Unauthorized)
            {
                break;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), "anonymous access continued after a key was created");
            await Task.Delay(50);
        }
    }
}
