namespace Enclave.Capacity.Bench;

/// <summary>
/// The JSON result of <c>enclave bench --json</c> (schema <c>enclave-bench/1</c>, snake_case names), read back by
/// <c>enclave plan --bench</c> and <c>enclave cost --bench</c>. Times are milliseconds unless a name says
/// otherwise. Immutable.
/// </summary>
public sealed record BenchResult
{
    public const string SchemaName = "enclave-bench/1";

    public string Schema { get; init; } = SchemaName;

    public required DateTimeOffset StartedAt { get; init; }

    public required DateTimeOffset FinishedAt { get; init; }

    public required BenchTargetInfo Target { get; init; }

    public required BenchSourceInfo Source { get; init; }

    public required BenchSettingsInfo Settings { get; init; }

    public BenchSlo? Slo { get; init; }

    public required IReadOnlyList<LevelResult> Levels { get; init; }

    public required BenchSummary Summary { get; init; }
}

/// <summary>The server under test: its base URL, the model, the route and the full URL called. Never holds the API key.</summary>
public sealed record BenchTargetInfo(string Url, string Model, string Endpoint, string RequestUrl);

/// <summary>Where the prompts came from and how their sizes were set.</summary>
public sealed record BenchSourceInfo
{
    /// <summary><c>dataset</c>, <c>synthetic</c> or <c>ledger</c>.</summary>
    public required string Kind { get; init; }

    public required string Description { get; init; }

    public required int Prompts { get; init; }

    public string? InputTokens { get; init; }

    public string? OutputTokens { get; init; }

    public TokenCalibration? Calibration { get; init; }

    public LedgerSourceInfo? Ledger { get; init; }
}

/// <summary>What the ledger recorded for the traffic a ledger-shaped run imitates.</summary>
public sealed record LedgerSourceInfo(int Requests, double? ArrivalRatePerS, Distribution PromptTokens, Distribution CompletionTokens, Distribution TtftMs, Distribution LatencyMs);

public sealed record BenchSettingsInfo(string Mode, IReadOnlyList<string> Levels, int? Requests, double? DurationS, int Warmup, int Seed, double TimeoutS);

/// <summary>One load level: what was offered, what came back, and how fast.</summary>
public sealed record LevelResult
{
    public required LoadInfo Load { get; init; }

    public required RequestCounts Requests { get; init; }

    public required double DurationS { get; init; }

    /// <summary>Mean requests in flight over the level (sum of latencies / duration, Little's law).</summary>
    public required double ConcurrencyAchieved { get; init; }

    public double? OfferedRatePerS { get; init; }

    /// <summary>p99 of how late the client started open-loop requests against their schedule.</summary>
    public double? DispatchLagP99Ms { get; init; }

    public required Throughput Throughput { get; init; }

    public required Distribution TtftMs { get; init; }

    /// <summary>Gaps between text chunks, pooled over all requests.</summary>
    public required Distribution ItlMs { get; init; }

    /// <summary>Per request: (E2E − TTFT) / (output tokens − 1).</summary>
    public required Distribution TpotMs { get; init; }

    public required Distribution E2eMs { get; init; }

    public required Distribution OutputTokens { get; init; }

    public required Distribution InputTokens { get; init; }

    /// <summary>True when every successful response carried usage; otherwise output tokens were counted from chunks.</summary>
    public required bool UsageReported { get; init; }

    public SloOutcome? Slo { get; init; }

    /// <summary>Per successful request, in start order, for distribution charts and for <c>enclave plan</c>.</summary>
    public required LevelSamples Samples { get; init; }
}

public sealed record LoadInfo(string Kind, double Value, string Label);

public sealed record RequestCounts(int Sent, int Succeeded, int Failed, IReadOnlyDictionary<string, int> Errors, IReadOnlyList<string> FirstErrors);

public sealed record Throughput(double RequestsPerS, double OutputTokensPerS, double InputTokensPerS, double TotalTokensPerS);

public sealed record SloOutcome(double Attainment, bool Met, double GoodputRequestsPerS, double GoodputOutputTokensPerS);

public sealed record LevelSamples(
    IReadOnlyList<double> StartMs,
    IReadOnlyList<double> TtftMs,
    IReadOnlyList<double> E2eMs,
    IReadOnlyList<double?> TpotMs,
    IReadOnlyList<int> OutputTokens,
    IReadOnlyList<int?> InputTokens);

/// <summary>
/// The run's answers: the knee (the load level with the most output throughput per unit of median latency,
/// Kleinrock's "power"; beyond it, more load buys less throughput than it costs in latency) and the highest load
/// that met the objective.
/// </summary>
public sealed record BenchSummary
{
    public KneeInfo? Knee { get; init; }

    /// <summary>Why there is no knee, when there is none.</summary>
    public string? KneeNote { get; init; }

    public string? BestUnderSlo { get; init; }

    public int? BestUnderSloIndex { get; init; }

    public required int PeakThroughputIndex { get; init; }

    public required int TotalErrors { get; init; }
}

public sealed record KneeInfo(int Index, string Label, double Value, double OutputTokensPerS, double E2eP50Ms, double TtftP50Ms);
