using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Enclave.Tests.Infrastructure;
using Enclave.Tests.Security.Auth;

namespace Enclave.Tests.Telemetry;

/// <summary>
/// The operations kit under <c>deploy/</c>: Prometheus validates the alert rules and their unit tests, and every
/// metric the rules and the Grafana dashboard name is present in a live gateway's scrape.
/// </summary>
public sealed partial class DeployKitTests
{
    private static string Deploy => Path.Combine(RepositoryRoot(), "deploy");

    private static string Promtool =>
        Environment.GetEnvironmentVariable("ENCLAVE_TEST_PROMTOOL") is { Length: > 0 } custom ? custom : "/usr/bin/promtool";

    [Fact]
    public async Task AlertRules_PassPromtoolCheckAndTheirUnitTests()
    {
        var rules = Path.Combine(Deploy, "prometheus");
        var check = await RunPromtoolAsync(rules, "check", "rules", "enclave-alerts.yml");
        Assert.True(check.Code == 0, check.Output);
        Assert.Contains("SUCCESS: 7 rules found", check.Output, StringComparison.Ordinal);
        var test = await RunPromtoolAsync(rules, "test", "rules", "enclave-alerts.test.yml");
        Assert.True(test.Code == 0, test.Output);
    }

    [Fact]
    public void GrafanaDashboard_IsValidJsonWithAQueryOnEveryPanel()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Deploy, "grafana", "enclave-dashboard.json")));
        var panels = doc.RootElement.GetProperty("panels").EnumerateArray().ToArray();
        Assert.True(panels.Length >= 15);
        Assert.All(panels, p => Assert.Contains(p.GetProperty("targets").EnumerateArray(), t => !string.IsNullOrWhiteSpace(t.GetProperty("expr").GetString())));
        var ids = panels.Select(p => p.GetProperty("id").GetInt32()).ToArray();
        Assert.Equal(ids.Length, ids.Distinct().Count());
    }

    [Fact]
    public async Task EveryMetricNamedByTheKit_IsInTheLiveScrape()
    {
        var named = MetricNames(File.ReadAllText(Path.Combine(Deploy, "prometheus", "enclave-alerts.yml")))
            .Concat(MetricNames(File.ReadAllText(Path.Combine(Deploy, "grafana", "enclave-dashboard.json"))))
            .ToHashSet(StringComparer.Ordinal);
        Assert.True(named.Count >= 15, "the kit names at least 15 metric series: " + string.Join(", ", named));

        var dataDir = Path.Combine(Path.GetTempPath(), "enclave-deploykit-" + Guid.NewGuid().ToString("N"));
        var admin = await KeyCli.CreateAsync(dataDir, "prometheus", "--scopes", "admin");
        var user = await KeyCli.CreateAsync(dataDir, "app");
        var broke = await KeyCli.CreateAsync(dataDir, "broke", "--token-budget", "1", "--budget-period", "day");
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories)], dataDir: dataDir);

        // Traffic that makes every family appear: success (streamed and not), a 404, a budget rejection, a bad key.
        await SendAsync(gateway, user.Key, new { model = "stories", prompt = "Once upon a time", max_tokens = 8 });
        await SendAsync(gateway, user.Key, new { model = "stories", prompt = "The cat", max_tokens = 8, stream = true });
        await SendAsync(gateway, user.Key, new { model = "absent", prompt = "x" });
        await SendAsync(gateway, broke.Key, new { model = "stories", prompt = "Once upon a time", max_tokens = 8 });
        await SendAsync(gateway, "enc_nope_nope", new { model = "stories", prompt = "x" });

        string scrape = "";
        var deadline = Deadline.In(TimeSpan.FromSeconds(10));
        while (!deadline.Passed)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", admin.Key) } };
            using var response = await gateway.Http.SendAsync(request);
            scrape = await response.Content.ReadAsStringAsync();
            if (named.All(n => InScrape(scrape, n)))
            {
                break;
            }

            await Task.Delay(200);
        }

        var missing = named.Where(n => !InScrape(scrape, n)).ToArray();
        Assert.True(missing.Length == 0, "named by deploy/ but absent from /metrics: " + string.Join(", ", missing));
        Directory.Delete(dataDir, recursive: true);
    }

    [Fact]
    public async Task ScrapeOutput_PassesPromtoolMetricsLint()
    {
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories)]);
        await SendAsync(gateway, null, new { model = "stories", prompt = "Once upon a time", max_tokens = 4 });
        var scrape = await gateway.Http.GetStringAsync("/metrics");
        var lint = await RunPromtoolWithInputAsync(Path.GetTempPath(), scrape, "check", "metrics");
        // Prometheus' lint allows what OpenTelemetry's GenAI names need; anything else it reports is a defect.
        var problems = lint.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.Contains("counter metrics should have \"_total\" suffix", StringComparison.Ordinal) || l.StartsWith("enclave_", StringComparison.Ordinal))
            .ToArray();
        Assert.True(problems.Length == 0, string.Join("\n", problems));
    }

    // A histogram family counts by its series; a label name (in a by-clause) counts when the scrape has it as a label.
    private static bool InScrape(string scrape, string name) =>
        scrape.Contains(name + "=\"", StringComparison.Ordinal)
        || scrape.Split('\n').Any(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "_bucket{", StringComparison.Ordinal));

    /// <summary>Metric names in PromQL expressions: Enclave's own and the GenAI families.</summary>
    private static IEnumerable<string> MetricNames(string text) => MetricName().Matches(text).Select(m => m.Value).Distinct(StringComparer.Ordinal);

    [GeneratedRegex(@"\b(enclave|gen_ai)_[a-z_]+(?=[{\[\s)(,""])")]
    private static partial Regex MetricName();

    private static async Task SendAsync(GatewayProcess gateway, string? key, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await gateway.Http.SendAsync(request);
        await response.Content.ReadAsStringAsync();
    }

    private static Task<(int Code, string Output)> RunPromtoolAsync(string workingDirectory, params string[] args) => RunPromtoolWithInputAsync(workingDirectory, null, args);

    private static async Task<(int Code, string Output)> RunPromtoolWithInputAsync(string workingDirectory, string? input, params string[] args)
    {
        Assert.True(File.Exists(Promtool), $"promtool not found at {Promtool}: install the Debian package 'prometheus' (.ci/run does) or set ENCLAVE_TEST_PROMTOOL.");
        var info = new ProcessStartInfo(Promtool) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = input is not null };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Enclave.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Enclave.slnx not found above " + AppContext.BaseDirectory);
    }
}
