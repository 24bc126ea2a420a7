namespace Enclave.Capacity.Plan;

/// <summary>
/// Finds the fewest replicas that serve a target request rate within a latency objective: starting from the
/// fewest that keep up at all (offered rate below the combined peak rate), it simulates R, R+1, … replicas with
/// <see cref="ReplicaSimulator"/> until the objective's percentile of latency (and of TTFT) is within the limits.
/// Thread-safe (stateless).
/// </summary>
public static class ReplicaPlanner
{
    /// <summary>Replicas tried past the first stable count before giving up.</summary>
    public const int MaxExtraReplicas = 256;

    /// <summary>Replica counts simulated past the answer, for the sweep table and chart.</summary>
    public const int ExtraRowsShown = 2;

    public static ReplicaPlan Plan(ServiceCurve curve, ReplicaTarget target, int? slots, Balancer balancer, int requests, int seed)
    {
        ArgumentNullException.ThrowIfNull(curve);
        ArgumentNullException.ThrowIfNull(target);
        var slotCount = slots ?? curve.MaxMeasuredConcurrency;
        var peak = curve.MaxRate(slotCount);
        // Offered load must stay below the combined peak rate, or the queue grows without end.
        var minimum = Math.Max(1, (int)Math.Floor(target.RequestsPerS / peak) + 1);
        var sweep = new List<ReplicaRow>();
        int? needed = null;
        for (var replicas = minimum; replicas <= minimum + MaxExtraReplicas; replicas++)
        {
            var result = ReplicaSimulator.Simulate(curve, slotCount, replicas, target.RequestsPerS, balancer, requests, seed);
            var e2e = target.E2eMs is not { } e || result.LatencyMs.At(target.Percentile) <= e;
            var ttft = target.TtftMs is not { } t || result.TtftMs.At(target.Percentile) <= t;
            sweep.Add(new ReplicaRow(
                replicas,
                Math.Round(target.RequestsPerS / replicas, 4),
                Math.Round(target.RequestsPerS / replicas / peak, 4),
                Math.Round(result.MeanInService, 3),
                result.LatencyMs,
                result.TtftMs,
                result.WaitMs,
                e2e && ttft));
            if (e2e && ttft && needed is null)
            {
                needed = replicas;
            }

            // Two more past the answer show how much margin one more replica buys.
            if (needed is { } n && replicas >= n + ExtraRowsShown)
            {
                break;
            }

            // A floor the queue cannot go below: once extra replicas stop helping, more will not either.
            if (needed is null && sweep.Count >= 4 && sweep[^1].LatencyMs.At(target.Percentile) >= sweep[^4].LatencyMs.At(target.Percentile) * 0.99)
            {
                break;
            }
        }

        var lightest = curve.Points[0];
        string? note = needed is null
            ? target.E2eMs is { } limit && limit < lightest.E2eP50Ms
                ? $"the latency limit is below the measured median latency at concurrency {lightest.Concurrency} ({lightest.E2eP50Ms:0} ms): no number of replicas meets it; a faster server or shorter outputs are needed"
                : "adding replicas stopped lowering latency before the objective was met: the measured service time alone exceeds the limit at that percentile"
            : null;
        return new ReplicaPlan
        {
            TargetRequestsPerS = target.RequestsPerS,
            SloE2eMs = target.E2eMs,
            SloTtftMs = target.TtftMs,
            SloPercentile = target.Percentile,
            SlotsPerReplica = slotCount,
            Balancer = balancer.ToString().ToLowerInvariant(),
            SimulatedRequests = requests,
            Seed = seed,
            PeakRequestsPerSPerReplica = Math.Round(peak, 4),
            MinimumForStability = minimum,
            Needed = needed,
            Note = note,
            Curve = curve.Points,
            Sweep = sweep,
        };
    }
}

/// <summary>What the replicas must serve: a Poisson request rate and latency limits met by a percentile. Immutable.</summary>
public sealed record ReplicaTarget(double RequestsPerS, double? E2eMs, double? TtftMs, double Percentile = 95);

/// <summary>One simulated replica count. Latencies in milliseconds. Immutable.</summary>
public sealed record ReplicaRow(
    int Replicas,
    double OfferedPerReplicaRps,
    double Utilization,
    double MeanInService,
    Bench.Distribution LatencyMs,
    Bench.Distribution TtftMs,
    Bench.Distribution WaitMs,
    bool Meets);

/// <summary>The replica answer of <c>enclave plan --bench --target-rps</c>. Immutable.</summary>
public sealed record ReplicaPlan
{
    public required double TargetRequestsPerS { get; init; }

    public double? SloE2eMs { get; init; }

    public double? SloTtftMs { get; init; }

    public required double SloPercentile { get; init; }

    public required int SlotsPerReplica { get; init; }

    public required string Balancer { get; init; }

    public required int SimulatedRequests { get; init; }

    public required int Seed { get; init; }

    public required double PeakRequestsPerSPerReplica { get; init; }

    public required int MinimumForStability { get; init; }

    /// <summary>The fewest replicas that meet the objective; null when none up to the search limit did.</summary>
    public int? Needed { get; init; }

    public string? Note { get; init; }

    public required IReadOnlyList<CurvePoint> Curve { get; init; }

    public required IReadOnlyList<ReplicaRow> Sweep { get; init; }
}
