using System.Net;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;
using Enclave.Tests.Security.Auth;

namespace Enclave.Tests.Telemetry;

/// <summary>The Prometheus scrape: golden metric names and labels, and counts that agree with the traffic sent.</summary>
public sealed class MetricsTests
{
    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    [Fact]
    public async Task Scrape_AfterTraffic_HasGenAiNamesAndAgreesWithRequests()
    {
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories)]);
        for (var i = 0; i < 3; i++)
        {
            (await gateway.Http.PostAsync("/v1/completions", Json(new { model = "stories", prompt = "Once upon a time", max_tokens = 6 }))).Dispose();
        }

        using (var streamed = await gateway.Http.PostAsync("/v1/completions", Json(new { model = "stories", prompt = "The dog", max_tokens = 4, stream = true })))
        {
            await Sse.ReadEventsAsync(streamed);
        }

        (await gateway.Http.PostAsync("/v1/completions", Json(new { model = "nope", prompt = "x" }))).Dispose();

        string scrape = "";
        for (var attempt = 0; attempt < 20 && !scrape.Contains("enclave_requests_total", StringComparison.Ordinal); attempt++)
        {
            await Task.Delay(100);
            scrape = await gateway.Http.GetStringAsync("/metrics");
        }

        string[] golden =
        [
            "gen_ai_client_token_usage_bucket{",
            "gen_ai_server_time_to_first_token_seconds_bucket{",
            "gen_ai_server_request_duration_seconds_bucket{",
            "gen_ai_server_time_per_output_token_seconds_bucket{",
            "enclave_requests_total{",
            "enclave_build_info",
            "gen_ai_request_model=\"stories\"",
            "gen_ai_token_type=\"output\"",
            "gen_ai_operation_name=\"text_completion\"",
        ];
        Assert.All(golden, name => Assert.Contains(name, scrape, StringComparison.Ordinal));
        var ok = Line(scrape, "enclave_requests_total{", "status=\"200\"");
        Assert.EndsWith(" 4", ok.Split('#')[0].TrimEnd(), StringComparison.Ordinal);
        var notFound = Line(scrape, "enclave_requests_total{", "status=\"404\"");
        Assert.Contains("gen_ai_request_model=\"other\"", notFound, StringComparison.Ordinal);
        var outputTokens = Line(scrape, "gen_ai_client_token_usage_sum{", "gen_ai_token_type=\"output\"");
        Assert.EndsWith(" 22", outputTokens.Split('#')[0].TrimEnd(), StringComparison.Ordinal); // 3 x 6 + 4
    }

    [Fact]
    public async Task Scrape_WhenKeysExist_NeedsAnAdminKey()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "enclave-metrics-" + Guid.NewGuid().ToString("N"));
        var admin = await KeyCli.CreateAsync(dataDir, "ops", "--scopes", "admin");
        var user = await KeyCli.CreateAsync(dataDir, "app");
        await using var gateway = await GatewayProcess.StartAsync([], dataDir: dataDir);

        using var anonymous = await gateway.Http.GetAsync("/metrics");
        using var forbidden = await gateway.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new("Bearer", user.Key) } });
        using var allowed = await gateway.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new("Bearer", admin.Key) } });

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Directory.Delete(dataDir, recursive: true);
    }

    private static string Line(string scrape, string prefix, string label) =>
        scrape.Split('\n').Single(l => l.StartsWith(prefix, StringComparison.Ordinal) && l.Contains(label, StringComparison.Ordinal));
}
