namespace Enclave.Capacity.Bench;

/// <summary>
/// Turns raw level runs into <see cref="LevelResult"/>s and finds the knee and the best level under the objective.
/// Throughput counts only successful requests and divides by the level's wall time. Thread-safe (stateless).
/// </summary>
public static class BenchAnalysis
{
    private const int MaxFirstErrors = 3;

    /// <summary>Fewest load levels for which a knee is looked for.</summary>
    public const int KneeMinimumLevels = 3;

    public static LevelResult Analyze(LevelRun run, BenchSlo? slo)
    {
        ArgumentNullException.ThrowIfNull(run);
        var ok = run.Samples.Where(s => s.Succeeded).ToList();
        var failed = run.Samples.Where(s => !s.Succeeded).ToList();
        var duration = Math.Max(run.DurationSeconds, 1e-6);
        var outputTokens = ok.Sum(s => (long)s.OutputTokens);
        var inputTokens = ok.Sum(s => (long)(s.InputTokens ?? 0));
        SloOutcome? outcome = null;
        if (slo is not null)
        {
            var good = run.Samples.Where(slo.IsGood).ToList();
            var attainment = run.Samples.Count == 0 ? 0 : (double)good.Count / run.Samples.Count;
            outcome = new SloOutcome(
                Math.Round(attainment, 4),
                run.Samples.Count > 0 && attainment >= slo.Percentile / 100.0,
                Math.Round(good.Count / duration, 4),
                Math.Round(good.Sum(s => (long)s.OutputTokens) / duration, 3));
        }

        return new LevelResult
        {
            Load = new LoadInfo(run.Level.KindName, run.Level.Value, run.Level.Label),
            Requests = new RequestCounts(
                run.Samples.Count,
                ok.Count,
                failed.Count,
                failed.GroupBy(s => s.Error!).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
                failed.Select(s => $"{s.Error}: {s.ErrorMessage}").Distinct().Take(MaxFirstErrors).ToList()),
            DurationS = Math.Round(duration, 4),
            ConcurrencyAchieved = Math.Round(run.Samples.Sum(s => s.E2eMs) / 1000.0 / duration, 3),
            OfferedRatePerS = run.OfferedRate is { } r ? Math.Round(r, 4) : null,
            DispatchLagP99Ms = run.DispatchLagP99Ms is { } lag ? Math.Round(lag, 3) : null,
            Throughput = new Throughput(
                Math.Round(ok.Count / duration, 4),
                Math.Round(outputTokens / duration, 3),
                Math.Round(inputTokens / duration, 3),
                Math.Round((inputTokens + outputTokens) / duration, 3)),
            TtftMs = Distribution.Of(ok.Where(s => s.TtftMs is not null).Select(s => s.TtftMs!.Value)),
            ItlMs = Distribution.Of(ok.SelectMany(s => s.ChunkGapsMs)),
            TpotMs = Distribution.Of(ok.Where(s => s.TpotMs is not null).Select(s => s.TpotMs!.Value)),
            E2eMs = Distribution.Of(ok.Select(s => s.E2eMs)),
            OutputTokens = Distribution.Of(ok.Select(s => (double)s.OutputTokens)),
            InputTokens = Distribution.Of(ok.Where(s => s.InputTokens is not null).Select(s => (double)s.InputTokens!.Value)),
            UsageReported = ok.Count > 0 && ok.All(s => s.UsageReported),
            Slo = outcome,
            Samples = new LevelSamples(
                ok.Select(s => Math.Round(s.StartMs, 2)).ToList(),
                ok.Select(s => Math.Round(s.TtftMs ?? s.E2eMs, 2)).ToList(),
                ok.Select(s => Math.Round(s.E2eMs, 2)).ToList(),
                ok.Select(s => s.TpotMs is { } t ? Math.Round(t, 3) : (double?)null).ToList(),
                ok.Select(s => s.OutputTokens).ToList(),
                ok.Select(s => s.InputTokens).ToList()),
        };
    }

    public static BenchSummary Summarize(IReadOnlyList<LevelResult> levels)
    {
        ArgumentNullException.ThrowIfNull(levels);
        var peak = 0;
        for (var i = 1; i < levels.Count; i++)
        {
            if (levels[i].Throughput.OutputTokensPerS > levels[peak].Throughput.OutputTokensPerS)
            {
                peak = i;
            }
        }

        int? best = null;
        for (var i = 0; i < levels.Count; i++)
        {
            if (levels[i].Slo is { Met: true } && (best is null || levels[i].Throughput.OutputTokensPerS >= levels[best.Value].Throughput.OutputTokensPerS))
            {
                best = i;
            }
        }

        var (knee, note) = FindKnee(levels);
        return new BenchSummary
        {
            Knee = knee,
            KneeNote = note,
            BestUnderSlo = best is { } b ? levels[b].Load.Label : null,
            BestUnderSloIndex = best,
            PeakThroughputIndex = peak,
            TotalErrors = levels.Sum(l => l.Requests.Failed),
        };
    }

    /// <summary>
    /// The level that maximises output tokens/s ÷ median end-to-end latency. Before it, added load raises
    /// throughput faster than latency; after it, latency grows faster. A maximum at the highest level tested is
    /// not a knee: latency had not yet turned up.
    /// </summary>
    public static (KneeInfo? Knee, string? Note) FindKnee(IReadOnlyList<LevelResult> levels)
    {
        ArgumentNullException.ThrowIfNull(levels);
        var usable = Enumerable.Range(0, levels.Count).Where(i => levels[i].Requests.Succeeded > 0 && levels[i].E2eMs.P50 > 0).ToList();
        if (usable.Count < KneeMinimumLevels)
        {
            return (null, $"a knee needs at least {KneeMinimumLevels} load levels with successful requests");
        }

        var best = usable.MaxBy(i => levels[i].Throughput.OutputTokensPerS / levels[i].E2eMs.P50);
        if (best == usable[^1])
        {
            return (null, $"latency had not turned up by the highest load tested ({levels[best].Load.Label}); try higher load");
        }

        var l = levels[best];
        return (new KneeInfo(best, l.Load.Label, l.Load.Value, l.Throughput.OutputTokensPerS, l.E2eMs.P50, l.TtftMs.P50), null);
    }
}
