using Enclave.Capacity.Hardware;

namespace Enclave.Capacity.Plan;

/// <summary>
/// The memory and bandwidth arithmetic of <c>enclave plan</c>. Assumptions, also printed with every plan:
/// the model is dense and every weight byte used in a matrix product is read once per decode step; attention reads
/// the whole KV cache of each sequence once per step; activations and caches are ignored against those reads; the
/// bandwidth is the sustained read bandwidth; KV memory is allocated for the full context of every sequence (as
/// llama.cpp and Enclave do). Thread-safe (stateless).
/// </summary>
public static class SizingCalculator
{
    /// <summary>Tokens in one llama.cpp micro-batch (n_ubatch), which sizes the compute buffer.</summary>
    public const int MicroBatch = 512;

    /// <summary>
    /// The attention mask in the compute buffer: one f16 per KV cell per micro-batch token, so it grows with the total
    /// context (sequences × context). Measured on the worker: 2 MiB more resident memory per 2,048-token sequence
    /// than the KV cache alone.
    /// </summary>
    public const int MaskBytesPerToken = 2 * MicroBatch;

    public static readonly IReadOnlyList<string> Assumptions =
    [
        "Memory: weights + KV cache for the full context of every sequence + one micro-batch's compute buffer (with an f16 attention mask of 512 x the total context) + the profile's reserve.",
        "KV cache per token = layers x KV heads x (key + value head size) x bytes per element (f16: 2; q8_0: 34/32; q4_0: 18/32).",
        "Decode bound: tokens/s <= bandwidth / (weight bytes read per token + KV bytes read per token); each weight byte (all but the token embedding) is read once per step.",
        "Batched decode reads the weights once per step for all sequences and each sequence's KV cache; sequences are taken as half-way through their context.",
        "Bandwidth figures of built-in profiles are peak spec-sheet values: real decode reaches about 60-90% of them, so the bound is an upper limit.",
        "Dense models only: a mixture-of-experts model reads only its active experts and decodes faster than this bound says.",
    ];

    public static HardwareFit Fit(ModelMemory model, KvCacheType keyType, KvCacheType valueType, int context, HardwareProfile profile, int? decodeContext = null, IReadOnlyList<int>? concurrencies = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentOutOfRangeException.ThrowIfLessThan(context, 1);
        var kvPerToken = model.KvBytesPerToken(keyType, valueType);
        var kvPerSequence = kvPerToken * context;
        var maskPerSequence = (double)MaskBytesPerToken * context;
        var compute = ComputeBufferBytes(model);
        var budget = profile.MemoryBytes - profile.ReservedBytes - model.WeightsBytes - compute;
        var sequences = budget <= 0 ? 0 : (long)Math.Floor(budget / (kvPerSequence + maskPerSequence));
        var bandwidth = profile.BandwidthGBps * 1e9;
        var computeBound = profile.Tflops is { } tf && model.Parameters > 0 ? tf * 1e12 / (2.0 * model.Parameters) : (double?)null;
        double? Single(double filled) => bandwidth is { } bw ? bw / (model.WeightsReadPerTokenBytes + (kvPerToken * filled)) : null;
        double? aggregate = null;
        if (bandwidth is { } b && sequences > 0)
        {
            var perStep = model.WeightsReadPerTokenBytes + (sequences * kvPerToken * context / 2.0);
            aggregate = b * sequences / perStep;
            if (computeBound is { } c)
            {
                aggregate = Math.Min(aggregate.Value, c);
            }
        }

        var filled = decodeContext ?? (context / 2.0);
        var atConcurrency = (concurrencies ?? []).Select(n =>
        {
            double? bound = bandwidth is { } bw ? bw * n / (model.WeightsReadPerTokenBytes + (n * kvPerToken * filled)) : null;
            if (bound is { } x && computeBound is { } cap)
            {
                bound = Math.Min(x, cap);
            }

            return new ConcurrencyBound(n, Round(bound), n <= sequences);
        }).ToList();
        return new HardwareFit
        {
            Profile = profile.Name,
            Kind = profile.Kind,
            Description = profile.Description,
            Source = profile.Source,
            MemoryBytes = profile.MemoryBytes,
            ReservedBytes = profile.ReservedBytes,
            BandwidthGBps = profile.BandwidthGBps,
            Tflops = profile.Tflops,
            ComputeBufferBytes = compute + (long)(sequences * maskPerSequence),
            KvBudgetBytes = budget,
            Fits = sequences > 0,
            MaxSequences = sequences,
            KvBytesAtMaxSequences = sequences * kvPerSequence,
            DecodeBoundEmptyTokensPerS = Round(Single(0)),
            DecodeBoundFullTokensPerS = Round(Single(context)),
            DecodeBoundAtContextTokensPerS = decodeContext is { } dc ? Round(Single(dc)) : null,
            DecodeContext = decodeContext,
            AggregateBoundAtMaxTokensPerS = Round(aggregate),
            ComputeBoundTokensPerS = Round(computeBound),
            BoundsAtConcurrency = atConcurrency,
        };
    }

    /// <summary>
    /// The part of llama.cpp's compute buffer that does not grow with the context: the f32 logits of one micro-batch
    /// plus the activations of one layer (attention and feed-forward) for the same tokens. A deliberate upper
    /// estimate (the graph allocator reuses memory between layers); flash attention is assumed, as llama.cpp's
    /// default "auto" turns it on where the backend supports it.
    /// </summary>
    public static long ComputeBufferBytes(ModelMemory model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var vocab = model.VocabularySize ?? 32_000;
        var embedding = model.EmbeddingLength ?? 4096;
        var ff = model.FeedForwardLength ?? (4 * embedding);
        return 4L * MicroBatch * (vocab + (3L * ff) + (6L * embedding));
    }

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 2) : null;
}
