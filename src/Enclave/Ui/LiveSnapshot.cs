namespace Enclave.Ui;

// The wire shape of GET /ui/api/live. The records are kept in one file so the schema reads in one place.

/// <summary>
/// What <see cref="LiveStats.Snapshot"/> returns: totals since start, rates and percentiles over the last
/// <see cref="RecentSeconds"/> seconds, the latest gauges per model, and per-second series ending at
/// <see cref="Now"/> (the last complete second, Unix seconds). Immutable.
/// </summary>
public sealed record LiveSnapshot(
    DateTimeOffset StartedAt,
    long Now,
    int Seconds,
    int LatencyWindowSeconds,
    int RecentSeconds,
    LiveTotals Totals,
    LiveRecent Recent,
    IReadOnlyDictionary<string, LiveModelGauges> Models,
    LiveSeries Series);

/// <summary>
/// Counts since the gateway started. <see cref="Requests"/>, <see cref="Errors"/> (status 400 and above) and the
/// token sums cover the same requests as the usage ledger. Auth rejections never reach a model and are counted apart.
/// </summary>
public sealed record LiveTotals(
    long Requests,
    long Errors,
    long ServerErrors,
    long ClientErrors,
    long InputTokens,
    long OutputTokens,
    long AuthRejections,
    long LimitRejections);

/// <summary>Rates per second and latency percentiles (seconds) over the recent window; percentiles are null without samples.</summary>
public sealed record LiveRecent(
    double RequestsPerSecond,
    double ErrorRate,
    double InputTokensPerSecond,
    double OutputTokensPerSecond,
    LivePercentiles TimeToFirstToken,
    LivePercentiles Duration);

/// <summary>Nearest-rank percentiles in seconds, each within 2 % of a recorded value; null when nothing was recorded.</summary>
public sealed record LivePercentiles(double? P50, double? P95, double? P99);

/// <summary>The most recent sample of each per-model gauge; null for gauges the gateway does not publish.</summary>
public sealed record LiveModelGauges(double? QueueDepth, double? ActiveSequences, double? KvCacheUsage, double? Up, double? Restarts);

/// <summary>
/// One value per second, aligned with <see cref="Time"/> (Unix seconds). Counts are per second; latency points are
/// percentiles over the trailing latency window and null where it held no request.
/// </summary>
public sealed record LiveSeries(
    IReadOnlyList<long> Time,
    IReadOnlyList<long> Requests,
    IReadOnlyList<long> ServerErrors,
    IReadOnlyList<long> ClientErrors,
    IReadOnlyList<long> AuthRejections,
    IReadOnlyList<long> InputTokens,
    IReadOnlyList<long> OutputTokens,
    IReadOnlyList<double?> TtftP50,
    IReadOnlyList<double?> TtftP95,
    IReadOnlyList<double?> TtftP99,
    IReadOnlyList<double?> DurationP50,
    IReadOnlyList<double?> DurationP95,
    IReadOnlyList<double?> DurationP99,
    IReadOnlyDictionary<string, LiveModelSeries> Models);

/// <summary>Per-second gauge samples of one model; null where the gauge was not sampled.</summary>
public sealed record LiveModelSeries(IReadOnlyList<double?> QueueDepth, IReadOnlyList<double?> ActiveSequences, IReadOnlyList<double?> KvCacheUsage);
