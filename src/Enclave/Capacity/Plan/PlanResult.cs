namespace Enclave.Capacity.Plan;

/// <summary>
/// The JSON result of <c>enclave plan --json</c> (schema <c>enclave-plan/1</c>, snake_case): the model's memory
/// needs, its fit and decode bounds on each hardware profile, and, given a bench result and a target, the replicas
/// needed. Immutable.
/// </summary>
public sealed record PlanResult
{
    public const string SchemaName = "enclave-plan/1";

    public string Schema { get; init; } = SchemaName;

    public required DateTimeOffset CreatedAt { get; init; }

    public ModelMemory? Model { get; init; }

    public KvCacheInfo? KvCache { get; init; }

    public IReadOnlyList<HardwareFit> Hardware { get; init; } = [];

    public ReplicaPlan? Replicas { get; init; }

    public IReadOnlyList<string> Assumptions { get; init; } = [];
}

/// <summary>The KV cache settings a plan used and what they cost per token and per sequence.</summary>
public sealed record KvCacheInfo(string TypeK, string TypeV, int Context, double BytesPerToken, double BytesPerSequence);
