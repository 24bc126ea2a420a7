using System.Text.Json;
using Xunit.Abstractions;

namespace Enclave.Tests.Capacity;

/// <summary>
/// The load generator's clock against a server with known, injected delays: TTFT, ITL, TPOT and end-to-end latency
/// measured by <c>enclave bench</c> (a separate process, as a user runs it) within 5% of what the server injected.
/// The server sends no usage here, so output tokens are counted from chunks.
/// </summary>
public sealed class BenchTimingTests(ITestOutputHelper output)
{
    private const double TtftMs = 600;
    private const double ItlMs = 60;
    private const int Tokens = 8;

    [Fact]
    public async Task Bench_ServerWithInjectedDelays_MeasuresThemWithinFivePercent()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        var dir = CapacityCli.TempDir();
        var json = Path.Combine(dir, "timing.json");

        var run = await CapacityCli.RunAsync(
            "bench", "--url", server.Url.ToString(), "--model", $"ttft{TtftMs}-itl{ItlMs}-n{Tokens}",
            "--concurrency", "1,4", "--requests", "8", "--warmup", "1", "--output-tokens", $"{Tokens}", "--json", json);

        Assert.True(run.Code == 0, run.Error + run.Output);
        var levels = CapacityCli.ReadJson(json).GetProperty("levels");
        Assert.Equal(2, levels.GetArrayLength());
        var e2e = TtftMs + ((Tokens - 1) * ItlMs);
        var report = new List<string>();
        var failures = 0;
        foreach (var level in levels.EnumerateArray())
        {
            var label = level.GetProperty("load").GetProperty("label").GetString();
            Assert.Equal(8, level.GetProperty("requests").GetProperty("succeeded").GetInt32());
            Assert.False(level.GetProperty("usage_reported").GetBoolean());
            Assert.Equal(Tokens, level.GetProperty("output_tokens").GetProperty("mean").GetDouble());
            failures += Within(TtftMs, level, "ttft_ms", report);
            failures += Within(ItlMs, level, "itl_ms", report);
            failures += Within(ItlMs, level, "tpot_ms", report);
            failures += Within(e2e, level, "e2e_ms", report);
            Assert.Equal((Tokens - 1) * 8, level.GetProperty("itl_ms").GetProperty("count").GetInt32());
        }

        foreach (var line in report)
        {
            output.WriteLine(line);
        }

        Assert.True(failures == 0, string.Join("\n", report));

        // Closed loop at 4: four requests in flight all the time, so four times the request rate of 1.
        var one = levels[0].GetProperty("throughput").GetProperty("requests_per_s").GetDouble();
        var four = levels[1].GetProperty("throughput").GetProperty("requests_per_s").GetDouble();
        Assert.InRange(four / one, 3.5, 4.2);
        Assert.InRange(levels[1].GetProperty("concurrency_achieved").GetDouble(), 3.5, 4.0);
        // Two calibration probes (one token each, not streamed), one warm-up, 8 requests per level.
        Assert.Equal(2 + 1 + 16, server.Requests);
        var bodies = server.Bodies.ToArray();
        Assert.All(bodies.Take(2), b => Assert.Equal((false, 1), (b.GetProperty("stream").GetBoolean(), b.GetProperty("max_tokens").GetInt32())));
        Assert.All(bodies.Skip(2), b => Assert.Equal((true, Tokens), (b.GetProperty("stream").GetBoolean(), b.GetProperty("max_tokens").GetInt32())));
        Assert.All(bodies.Skip(2), b => Assert.True(b.GetProperty("stream_options").GetProperty("include_usage").GetBoolean()));
    }

    /// <summary>Checks the median; reports every statistic so that a failure shows the whole picture.</summary>
    private static int Within(double expected, JsonElement level, string metric, List<string> report)
    {
        var d = level.GetProperty(metric);
        var p50 = d.GetProperty("p50").GetDouble();
        var ok = Math.Abs(p50 - expected) <= expected * 0.05;
        report.Add($"{level.GetProperty("load").GetProperty("label").GetString()} {metric}: injected {expected} ms, p50 {p50:0.00} ({(p50 / expected) - 1:+0.0%;-0.0%}), mean {d.GetProperty("mean").GetDouble():0.00}, min {d.GetProperty("min").GetDouble():0.00}, max {d.GetProperty("max").GetDouble():0.00}{(ok ? "" : "  <-- outside 5%")}");
        return ok ? 0 : 1;
    }
}
