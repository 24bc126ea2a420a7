using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Enclave.Api;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Security.Auth;

/// <summary>Per-key limits through the real gateway: 429s with OpenAI's headers, and budgets that concurrency cannot overspend.</summary>
public sealed class LimitsHttpTests : IAsyncLifetime
{
    private const string Body = """{"model":"stories","prompt":"Once upon a time","max_tokens":8,"temperature":0}""";

    private GatewayProcess _gateway = null!;
    private string _dataDir = null!;
    private (string Id, string Key) _rpm3;
    private (string Id, string Key) _budget10;
    private (string Id, string Key) _rpmAudit;

    public async Task InitializeAsync()
    {
        _dataDir = Path.Combine(Path.GetTempPath(), "enclave-limits-" + Guid.NewGuid().ToString("N"));
        var perRequest = TokenEstimate.PromptUpperBound(JsonDocument.Parse(Body).RootElement) + 8;
        _rpm3 = await KeyCli.CreateAsync(_dataDir, "rpm3", "--rpm", "3");
        // Room for exactly ten reservations of this request.
        _budget10 = await KeyCli.CreateAsync(_dataDir, "budget10", "--token-budget", (perRequest * 10 + perRequest / 2).ToString(System.Globalization.CultureInfo.InvariantCulture), "--budget-period", "day");
        _rpmAudit = await KeyCli.CreateAsync(_dataDir, "rpm-audit", "--rpm", "2");
        _gateway = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories, new Dictionary<string, string> { ["Slots"] = "8", ["QueueCapacity"] = "64" })], dataDir: _dataDir);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    private async Task<HttpResponseMessage> PostAsync(string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await _gateway.Http.SendAsync(request);
    }

    [Fact]
    public async Task RequestsPerMinute_FourthRequest_Is429WithOpenAiHeaders()
    {
        for (var i = 0; i < 3; i++)
        {
            using var ok = await PostAsync(_rpm3.Key);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("3", ok.Headers.GetValues("x-ratelimit-limit-requests").Single());
            Assert.Equal((2 - i).ToString(System.Globalization.CultureInfo.InvariantCulture), ok.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        }

        using var rejected = await PostAsync(_rpm3.Key);
        var error = JsonDocument.Parse(await rejected.Content.ReadAsStringAsync()).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("requests", error.GetProperty("type").GetString());
        Assert.InRange(int.Parse(rejected.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.Equal("0", rejected.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.True(rejected.Headers.Contains("x-ratelimit-reset-requests"));
        Assert.True(rejected.Headers.Contains("x-request-id"));
    }

    [Fact]
    public async Task Budget_FiftySimultaneousRequests_AdmitAtMostTen()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => PostAsync(_budget10.Key)));
        try
        {
            var admitted = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
            var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();

            Assert.InRange(admitted, 1, 10);
            Assert.Equal(50, admitted + refused.Count);
            var error = JsonDocument.Parse(await refused[0].Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("insufficient_quota", error.GetProperty("code").GetString());
        }
        finally
        {
            Array.ForEach(responses, r => r.Dispose());
        }
    }

    [Fact]
    public async Task LimitRejection_IsAudited()
    {
        for (var i = 0; i < 5; i++)
        {
            (await PostAsync(_rpmAudit.Key)).Dispose();
        }

        var (code, export, _) = await KeyCli.RunAsync(["audit", "export", "--data-dir", _dataDir]);

        Assert.Equal(0, code);
        Assert.Contains(export.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => line.Contains("limits.rejected", StringComparison.Ordinal) && line.Contains(_rpmAudit.Id, StringComparison.Ordinal));
        var (verify, _, _) = await KeyCli.RunAsync(["audit", "verify", "--data-dir", _dataDir]);
        Assert.Equal(0, verify);
    }
}
