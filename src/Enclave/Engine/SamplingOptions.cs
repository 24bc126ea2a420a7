namespace Enclave.Engine;

/// <summary>Per-request sampling settings. Temperature 0 means greedy decoding. Immutable.</summary>
public sealed record SamplingOptions
{
    public float Temperature { get; init; } = 1f;

    public float TopP { get; init; } = 1f;

    public int TopK { get; init; }

    public float MinP { get; init; }

    /// <summary>Seed for the random sampler; null picks a random one. A fixed seed makes sampling repeatable.</summary>
    public uint? Seed { get; init; }

    public float RepetitionPenalty { get; init; } = 1f;

    public float FrequencyPenalty { get; init; }

    public float PresencePenalty { get; init; }

    /// <summary>How many recent tokens the penalties look at.</summary>
    public int PenaltyLastN { get; init; } = 64;

    public static SamplingOptions Greedy { get; } = new() { Temperature = 0f };
}
