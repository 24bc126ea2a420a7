using Enclave.Capacity.Bench;

namespace Enclave.Tests.Capacity;

public sealed class BenchAnalysisTests
{
    internal static LevelResult Level(int concurrency, double rps, double outTps, double e2eP50, double ttftP50 = 50, double tpotP50 = 10, double inputMean = 100, bool? met = null)
    {
        static Distribution D(double p50, double count = 10) => new((int)count, p50, p50, p50, p50, p50, p50, p50);
        return new LevelResult
        {
            Load = new LoadInfo("concurrency", concurrency, $"c={concurrency}"),
            Requests = new RequestCounts(10, 10, 0, new Dictionary<string, int>(), []),
            DurationS = 10,
            ConcurrencyAchieved = concurrency,
            Throughput = new Throughput(rps, outTps, inputMean * rps, (inputMean * rps) + outTps),
            TtftMs = D(ttftP50),
            ItlMs = D(tpotP50),
            TpotMs = D(tpotP50),
            E2eMs = D(e2eP50),
            OutputTokens = D(outTps / rps),
            InputTokens = D(inputMean),
            UsageReported = true,
            Slo = met is { } m ? new SloOutcome(m ? 1 : 0.5, m, rps, outTps) : null,
            Samples = new LevelSamples([0], [ttftP50], [e2eP50], [tpotP50], [10], [100]),
        };
    }

    internal static BenchResult Result(params LevelResult[] levels) => new()
    {
        StartedAt = DateTimeOffset.UnixEpoch,
        FinishedAt = DateTimeOffset.UnixEpoch,
        Target = new BenchTargetInfo("http://x/v1/", "m", "/v1/chat/completions", "http://x/v1/chat/completions"),
        Source = new BenchSourceInfo { Kind = "synthetic", Description = "test", Prompts = 1 },
        Settings = new BenchSettingsInfo("concurrency", levels.Select(l => l.Load.Label).ToList(), 10, null, 0, 42, 60),
        Slo = levels.Any(l => l.Slo is not null) ? new BenchSlo(1000, 50, null) : null,
        Levels = levels,
        Summary = BenchAnalysis.Summarize(levels),
    };

    [Fact]
    public void Percentiles_InterpolateBetweenRanks()
    {
        var d = Distribution.Of([4, 1, 3, 2, double.NaN]);

        Assert.Equal((4, 2.5, 1.0, 2.5, 3.7, 3.85, 3.97, 4.0), (d.Count, d.Mean, d.Min, d.P50, d.P90, d.P95, d.P99, d.Max));
        Assert.Equal(Distribution.Empty, Distribution.Of([]));
    }

    [Fact]
    public void FindKnee_ThroughputFlattensWhileLatencyClimbs_KneeIsWhereThroughputPerLatencyPeaks()
    {
        LevelResult[] levels = [Level(1, 1, 100, 1000), Level(2, 1.9, 190, 1050), Level(4, 3.6, 360, 1100), Level(8, 4.0, 400, 2000), Level(16, 4.1, 410, 3900)];

        var (knee, note) = BenchAnalysis.FindKnee(levels);

        Assert.Null(note);
        Assert.Equal(("c=4", 2), (knee!.Label, knee.Index));
    }

    [Fact]
    public void FindKnee_LatencyNeverTurnsUp_NoKneeAndSaysSo()
    {
        var (knee, note) = BenchAnalysis.FindKnee([Level(1, 1, 100, 1000), Level(2, 2, 200, 1000), Level(4, 4, 400, 1010)]);

        Assert.Null(knee);
        Assert.Contains("had not turned up by the highest load tested (c=4)", note);
        Assert.Contains("at least 3", BenchAnalysis.FindKnee([Level(1, 1, 100, 1000), Level(2, 2, 200, 1000)]).Note);
    }

    [Fact]
    public void Analyze_Slo_AttainmentCountsFailuresAndGoodputCountsGoodRequestsOnly()
    {
        static RequestSample S(double ttft, double e2e, int tokens = 11, string? error = null) =>
            new() { StartMs = 0, TtftMs = error is null ? ttft : null, E2eMs = e2e, OutputTokens = tokens, UsageReported = true, Error = error, ErrorMessage = error };
        var run = new LevelRun(new LoadLevel(LoadKind.Concurrency, 2), [S(100, 600), S(300, 800), S(100, 2100), S(0, 50, 0, "http_503")], 2.0, null, null);

        var level = BenchAnalysis.Analyze(run, new BenchSlo(TtftMs: 200, TpotMs: 100, E2eMs: null, Percentile: 50));

        // Good: the first only (the second misses TTFT; the third misses TPOT: (2100 - 100) / 10 = 200 ms; the fourth failed).
        Assert.Equal(0.25, level.Slo!.Attainment);
        Assert.False(level.Slo.Met);
        Assert.Equal(0.5, level.Slo.GoodputRequestsPerS);
        Assert.Equal(5.5, level.Slo.GoodputOutputTokensPerS);
        Assert.Equal(1.5, level.Throughput.RequestsPerS);
        Assert.Equal(new Dictionary<string, int> { ["http_503"] = 1 }, level.Requests.Errors);
        Assert.Equal((50 + 50 + 200) / 3.0, level.TpotMs.Mean, 3);
        Assert.Equal((600 + 800 + 2100 + 50) / 1000.0 / 2.0, level.ConcurrencyAchieved);
    }

    [Fact]
    public void Summarize_BestUnderSloIsTheMostThroughputThatMetIt()
    {
        var summary = BenchAnalysis.Summarize([Level(1, 1, 100, 1000, met: true), Level(2, 2, 190, 1100, met: true), Level(4, 3, 300, 2000, met: false)]);

        Assert.Equal(("c=2", 1), (summary.BestUnderSlo, summary.BestUnderSloIndex));
        Assert.Equal(2, summary.PeakThroughputIndex);
    }
}
