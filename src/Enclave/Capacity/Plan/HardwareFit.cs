using System.Text.Json.Serialization;

namespace Enclave.Capacity.Plan;

/// <summary>
/// How one model fits one hardware profile at one context length: the memory budget left for the KV cache, the
/// most sequences whose full context fits, and upper bounds on decode speed from memory bandwidth (and from
/// compute, when the profile knows its TFLOPS). Tokens/s figures are bounds, not predictions. Immutable.
/// </summary>
public sealed record HardwareFit
{
    public required string Profile { get; init; }

    public required string Kind { get; init; }

    public required string Description { get; init; }

    /// <summary>Where the profile's figures come from (spec sheet, configuration, measured, command line).</summary>
    public required string Source { get; init; }

    public required long MemoryBytes { get; init; }

    public required long ReservedBytes { get; init; }

    /// <summary>Memory bandwidth in GB/s (10^9 bytes per second).</summary>
    [JsonPropertyName("bandwidth_gb_per_s")]
    public double? BandwidthGBps { get; init; }

    public double? Tflops { get; init; }

    /// <summary>Estimated llama.cpp compute buffer at the most sequences: activations and logits for one micro-batch, and the attention mask over the whole context.</summary>
    public required long ComputeBufferBytes { get; init; }

    /// <summary>Memory − reserved − weights − the fixed compute buffer: what the KV cache and attention mask may use (negative when the weights do not fit).</summary>
    public required long KvBudgetBytes { get; init; }

    public required bool Fits { get; init; }

    /// <summary>Sequences of the full context length whose KV cache fits the budget.</summary>
    public required long MaxSequences { get; init; }

    public required double KvBytesAtMaxSequences { get; init; }

    /// <summary>One sequence, empty context: bandwidth ÷ weight bytes read per token.</summary>
    public double? DecodeBoundEmptyTokensPerS { get; init; }

    /// <summary>One sequence at the full context: bandwidth ÷ (weights read + the whole KV cache of the sequence).</summary>
    public double? DecodeBoundFullTokensPerS { get; init; }

    /// <summary>One sequence holding <see cref="DecodeContext"/> tokens.</summary>
    public double? DecodeBoundAtContextTokensPerS { get; init; }

    public int? DecodeContext { get; init; }

    /// <summary>
    /// All of <see cref="MaxSequences"/> decoding together, each half-way through its context: weights are read once
    /// per step for all of them, their KV caches each time. Capped by the compute bound when it is known.
    /// </summary>
    public double? AggregateBoundAtMaxTokensPerS { get; init; }

    /// <summary>
    /// With <c>--concurrency</c>: the decode bound for that many sequences decoding together, each holding
    /// <see cref="DecodeContext"/> tokens (half the context when not given), capped by the compute bound.
    /// </summary>
    public IReadOnlyList<ConcurrencyBound> BoundsAtConcurrency { get; init; } = [];

    /// <summary>FLOPS ÷ (2 × parameters): the most tokens per second the compute allows (prefill or batched decode).</summary>
    public double? ComputeBoundTokensPerS { get; init; }
}

/// <summary>Aggregate decode tokens/s bound at one concurrency, and whether that many sequences fit. Immutable.</summary>
public sealed record ConcurrencyBound(int Concurrency, double? TokensPerS, bool Fits);
