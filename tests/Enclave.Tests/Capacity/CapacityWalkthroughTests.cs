using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Capacity;

/// <summary>
/// The README's walk from a dataset to a sizing answer, against a real <c>enclave serve</c>: bench with a dataset
/// (usage reported by the gateway), bench again from the ledger's recorded shapes and arrivals, plan replicas from
/// the bench result, and price it with per-key chargeback from the same ledger.
/// </summary>
public sealed class CapacityWalkthroughTests
{
    [Fact]
    public async Task DatasetToSizingAnswer_AgainstEnclave_EveryStepAgrees()
    {
        var dir = CapacityCli.TempDir();
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("chat", TestModels.StoriesChat, new Dictionary<string, string> { ["Slots"] = "4", ["ContextSize"] = "256" })]);
        var dataset = Path.Combine(dir, "prompts.jsonl");
        await File.WriteAllLinesAsync(dataset, Enumerable.Range(0, 6).Select(i => JsonSerializer.Serialize(new
        {
            messages = new[] { new { role = "user", content = $"Tell me a story about a dog named Spot number {i}." } },
            max_tokens = 12,
        })));

        // 1. Bench from the dataset, closed loop at 1, 2 and 4, with an objective.
        var bench = Path.Combine(dir, "bench.json");
        var html = Path.Combine(dir, "bench.html");
        var run = await CapacityCli.RunAsync("bench", "--url", gateway.BaseUrl.ToString(), "--model", "chat", "--dataset", dataset,
            "--concurrency", "1,2,4", "--requests", "8", "--slo-ttft", "2s", "--slo-tpot", "200ms", "--json", bench, "--html", html);
        Assert.True(run.Code == 0, run.Error + run.Output);
        Assert.Contains("c=4", run.Output);
        var result = CapacityCli.ReadJson(bench);
        foreach (var level in result.GetProperty("levels").EnumerateArray())
        {
            Assert.Equal(8, level.GetProperty("requests").GetProperty("succeeded").GetInt32());
            Assert.True(level.GetProperty("usage_reported").GetBoolean());
            Assert.InRange(level.GetProperty("output_tokens").GetProperty("mean").GetDouble(), 1, 12);
            Assert.True(level.GetProperty("input_tokens").GetProperty("mean").GetDouble() > 10);
            Assert.True(level.GetProperty("ttft_ms").GetProperty("p50").GetDouble() > 0);
            Assert.True(level.GetProperty("slo").GetProperty("met").GetBoolean());
        }

        // Self-contained: uPlot and the data inlined, nothing fetched (the browser test checks the drawing).
        var page = await File.ReadAllTextAsync(html);
        Assert.Contains("https://github.com/leeoniya/uPlot (v1.6.32)", page, StringComparison.Ordinal);
        Assert.Contains("id=\"report-data\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain(" src=", page, StringComparison.Ordinal);

        // 2. The gateway's ledger now holds those requests (token counts and timing): replay them, 20 times faster.
        var replay = Path.Combine(dir, "replay.json");
        run = await CapacityCli.RunAsync("bench", "--url", gateway.BaseUrl.ToString(), "--model", "chat", "--from-ledger", "--data-dir", gateway.DataDir,
            "--rate", "replay", "--speedup", "20", "--requests", "10", "--warmup", "0", "--json", replay);
        Assert.True(run.Code == 0, run.Error + run.Output);
        var replayed = CapacityCli.ReadJson(replay);
        var source = replayed.GetProperty("source");
        Assert.Equal("ledger", source.GetProperty("kind").GetString());
        Assert.True(source.GetProperty("ledger").GetProperty("requests").GetInt32() >= 8 * 3);
        Assert.Equal("measured", source.GetProperty("calibration").GetProperty("source").GetString());
        var level0 = replayed.GetProperty("levels")[0];
        Assert.Equal("replay", level0.GetProperty("load").GetProperty("kind").GetString());
        Assert.Equal(10, level0.GetProperty("requests").GetProperty("succeeded").GetInt32());
        // Recorded prompts were 20-odd tokens; the synthetic stand-ins are sized to match (within a quarter).
        var recorded = source.GetProperty("ledger").GetProperty("prompt_tokens").GetProperty("mean").GetDouble();
        Assert.InRange(level0.GetProperty("input_tokens").GetProperty("mean").GetDouble(), recorded * 0.75, recorded * 1.5);

        // 3. Replicas for 30 requests/s with TTFT p95 under 2 s on the measured curve.
        var plan = Path.Combine(dir, "plan.json");
        run = await CapacityCli.RunAsync("plan", TestModels.StoriesChat, "--hardware", "nvidia-l4", "--context", "256", "--bench", bench,
            "--target-rps", "30", "--sim-requests", "4000", "--json", plan, "--html", Path.Combine(dir, "plan.html"));
        Assert.True(run.Code == 0, run.Error + run.Output);
        var replicas = CapacityCli.ReadJson(plan).GetProperty("replicas");
        var needed = replicas.GetProperty("needed").GetInt32();
        var peak = replicas.GetProperty("peak_requests_per_s_per_replica").GetDouble();
        Assert.True(needed >= Math.Ceiling(30 / peak), $"{needed} replicas cannot carry 30 req/s at {peak} req/s each");
        Assert.Equal(2000, replicas.GetProperty("slo_ttft_ms").GetDouble());
        Assert.Contains($"replicas needed: {needed}", run.Output);

        // 4. Cost of serving it, with chargeback for the anonymous key that made every request.
        var cost = Path.Combine(dir, "cost.json");
        run = await CapacityCli.RunAsync("cost", "--bench", bench, "--price", "3000", "--power", "200", "--amortization", "36",
            "--energy-price", "0.2", "--utilization", "50%", "--data-dir", gateway.DataDir, "--cloud", "gpt-4o-mini", "--json", cost);
        Assert.True(run.Code == 0, run.Error + run.Output);
        var costs = CapacityCli.ReadJson(cost);
        var local = costs.GetProperty("local");
        Assert.Equal(3000 / 36.0, local.GetProperty("amortization_monthly_usd").GetDouble(), 4);
        Assert.Equal(0.2 * 730 * 0.2, local.GetProperty("energy_monthly_usd").GetDouble(), 4);
        var keys = costs.GetProperty("chargeback").GetProperty("keys");
        Assert.Equal("anonymous", keys[0].GetProperty("key").GetString());
        Assert.True(keys[0].GetProperty("requests").GetInt64() >= 24 + 10);
        Assert.Equal(1.0, keys[0].GetProperty("share").GetDouble());
        Assert.Equal("gpt-4o-mini", costs.GetProperty("cloud")[0].GetProperty("name").GetString());
    }
}
