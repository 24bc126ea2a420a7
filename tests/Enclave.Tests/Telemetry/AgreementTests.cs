using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;
using Enclave.Tests.Security.Auth;

namespace Enclave.Tests.Telemetry;

/// <summary>
/// After a burst of mixed traffic (streamed, non-streamed, failed, rejected), the ledger (<c>/admin/usage</c>),
/// <c>enclave usage</c>, <c>/metrics</c> and the dashboard's live totals (<c>/ui/api/live</c>) agree on request and
/// token counts.
/// </summary>
public sealed class AgreementTests
{
    [Fact]
    public async Task MixedBurst_LedgerUsageCliMetricsAndDashboardAgree()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "enclave-agree-" + Guid.NewGuid().ToString("N"));
        var admin = await KeyCli.CreateAsync(dataDir, "ops", "--scopes", "admin");
        var user = await KeyCli.CreateAsync(dataDir, "app");
        var broke = await KeyCli.CreateAsync(dataDir, "broke", "--token-budget", "1", "--budget-period", "day");
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories), new ModelSpec("chat", TestModels.StoriesChat)], dataDir: dataDir);

        var sends = new List<Task<(int Status, int Prompt, int Completion)>>();
        for (var i = 0; i < 6; i++)
        {
            sends.Add(SendAsync(gateway, user.Key, "/v1/completions", new { model = "stories", prompt = "Once upon a time", max_tokens = 5 + i }));
            sends.Add(SendAsync(gateway, user.Key, "/v1/chat/completions", new { model = "chat", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 4, stream = true, stream_options = new { include_usage = true } }));
        }

        sends.Add(SendAsync(gateway, user.Key, "/v1/completions", new { model = "absent", prompt = "x" }));                       // 404
        sends.Add(SendAsync(gateway, user.Key, "/v1/completions", new { model = "stories", prompt = "x", temperature = "hot" })); // 400
        sends.Add(SendAsync(gateway, broke.Key, "/v1/completions", new { model = "stories", prompt = "Once", max_tokens = 4 }));   // 429 budget
        var results = await Task.WhenAll(sends);
        var sent = results.Length;
        var prompt = results.Sum(r => r.Prompt);
        var completion = results.Sum(r => r.Completion);
        Assert.Equal(12, results.Count(r => r.Status == 200));
        Assert.Contains(results, r => r.Status == 404);
        Assert.Contains(results, r => r.Status == 400);
        Assert.Contains(results, r => r.Status == 429);
        Assert.True(completion > 0 && prompt > 0);

        // The ledger through the admin API.
        using var usage = JsonDocument.Parse(await GetAsync(gateway, admin.Key, "/admin/usage?by=model"));
        var rows = usage.RootElement.GetProperty("rows").EnumerateArray().ToArray();
        Assert.Equal(sent, rows.Sum(r => r.GetProperty("requests").GetInt64()));
        Assert.Equal(prompt, rows.Sum(r => r.GetProperty("prompt_tokens").GetInt64()));
        Assert.Equal(completion, rows.Sum(r => r.GetProperty("completion_tokens").GetInt64()));
        Assert.Equal(3, rows.Sum(r => r.GetProperty("errors").GetInt64()));

        // The same ledger through the CLI, while the gateway runs.
        var (code, output, error) = await EnclaveCommand.RunAsync(["usage", "--json", "--by", "key", "--data-dir", dataDir]);
        Assert.True(code == 0, error);
        using var cli = JsonDocument.Parse(output);
        var cliRows = cli.RootElement.GetProperty("rows").EnumerateArray().ToArray();
        Assert.Equal(sent, cliRows.Sum(r => r.GetProperty("requests").GetInt64()));
        Assert.Equal(prompt, cliRows.Sum(r => r.GetProperty("prompt_tokens").GetInt64()));
        Assert.Equal(completion, cliRows.Sum(r => r.GetProperty("completion_tokens").GetInt64()));

        // The Prometheus scrape.
        var scrape = await GetAsync(gateway, admin.Key, "/metrics");
        Assert.Equal(sent, Sum(scrape, "enclave_requests_total{"));
        Assert.Equal(prompt, Sum(scrape, "gen_ai_client_token_usage_sum{", "gen_ai_token_type=\"input\""));
        Assert.Equal(completion, Sum(scrape, "gen_ai_client_token_usage_sum{", "gen_ai_token_type=\"output\""));
        Assert.Equal(3, Sum(scrape, "enclave_requests_total{", "status=\"4"));

        // The dashboard's live totals.
        using var live = JsonDocument.Parse(await GetAsync(gateway, admin.Key, "/ui/api/live"));
        var totals = live.RootElement.GetProperty("totals");
        Assert.Equal(sent, totals.GetProperty("requests").GetInt64());
        Assert.Equal(3, totals.GetProperty("errors").GetInt64());
        Assert.Equal(prompt, totals.GetProperty("input_tokens").GetInt64());
        Assert.Equal(completion, totals.GetProperty("output_tokens").GetInt64());

        Directory.Delete(dataDir, recursive: true);
    }

    private static double Sum(string scrape, string prefix, string? label = null) =>
        scrape.Split('\n')
            .Where(l => l.StartsWith(prefix, StringComparison.Ordinal) && (label is null || l.Contains(label, StringComparison.Ordinal)))
            .Sum(l => double.Parse(l.Split('}')[^1].Trim().Split(' ')[0], CultureInfo.InvariantCulture));

    private static async Task<string> GetAsync(GatewayProcess gateway, string key, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key) } };
        using var response = await gateway.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<(int Status, int Prompt, int Completion)> SendAsync(GatewayProcess gateway, string key, string path, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key) },
        };
        using var response = await gateway.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            return ((int)response.StatusCode, 0, 0);
        }

        // Whole answers carry usage; streams were asked for the usage chunk.
        var json = text.StartsWith('{')
            ? text
            : text.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal) && l.Contains("\"usage\":{", StringComparison.Ordinal)).Select(l => l[6..]).Single();
        using var doc = JsonDocument.Parse(json);
        var usage = doc.RootElement.GetProperty("usage");
        return (200, usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32());
    }
}
