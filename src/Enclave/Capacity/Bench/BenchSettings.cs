namespace Enclave.Capacity.Bench;

/// <summary>
/// One <c>enclave bench</c> run: the server, the load levels in order, and the bounds of each level (a request count,
/// a duration, or both: whichever is reached first). <see cref="Warmup"/> requests go first, one at a time, and are
/// left out of every figure. Immutable.
/// </summary>
public sealed record BenchSettings
{
    public required BenchTarget Target { get; init; }

    public required IReadOnlyList<LoadLevel> Levels { get; init; }

    /// <summary>Most requests started per level; null for no count bound.</summary>
    public int? Requests { get; init; }

    /// <summary>No request starts after this much time in a level; null for no time bound.</summary>
    public TimeSpan? Duration { get; init; }

    public int Warmup { get; init; } = 2;

    /// <summary>Seeds the prompt order, synthetic prompts and Poisson arrivals: the same seed, the same run.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>A request not finished by then counts as a <c>timeout</c> error.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    public BenchSlo? Slo { get; init; }

    /// <summary>Recorded arrival offsets in seconds, oldest first, for <see cref="LoadKind.Replay"/> levels.</summary>
    public IReadOnlyList<double> ReplayOffsets { get; init; } = [];
}

/// <summary>
/// A service-level objective: limits on time to first token, time per output token and end-to-end latency (any may
/// be absent) that <see cref="Percentile"/> percent of requests must meet. A request is good when it succeeded and
/// meets every limit; a level meets the objective when at least that share of its requests were good. Immutable.
/// </summary>
public sealed record BenchSlo(double? TtftMs, double? TpotMs, double? E2eMs, double Percentile = 95)
{
    public bool IsGood(RequestSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return sample.Succeeded
            && (TtftMs is not { } ttft || (sample.TtftMs is { } t && t <= ttft))
            && (TpotMs is not { } tpot || sample.TpotMs is not { } p || p <= tpot)
            && (E2eMs is not { } e2e || sample.E2eMs <= e2e);
    }
}
