using Enclave.Native.Gguf;

namespace Enclave.Capacity.Plan;

/// <summary>
/// An element type llama.cpp can store the KV cache in (<c>--cache-type-k/-v</c>): f32, f16, bf16, q8_0, q5_1,
/// q5_0, q4_1, q4_0 or iq4_nl. Quantized types store blocks of 32 values with a scale, so q8_0 costs 34 bytes per
/// 32 values (1.0625 bytes each) and q4_0 18 bytes per 32 (0.5625). Immutable.
/// </summary>
public sealed record KvCacheType(string Name, GgmlType Type)
{
    private static readonly Dictionary<string, GgmlType> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        ["f32"] = GgmlType.F32,
        ["f16"] = GgmlType.F16,
        ["bf16"] = GgmlType.BF16,
        ["q8_0"] = GgmlType.Q8_0,
        ["q5_1"] = GgmlType.Q5_1,
        ["q5_0"] = GgmlType.Q5_0,
        ["q4_1"] = GgmlType.Q4_1,
        ["q4_0"] = GgmlType.Q4_0,
        ["iq4_nl"] = GgmlType.IQ4_NL,
    };

    public static KvCacheType F16 { get; } = new("f16", GgmlType.F16);

    /// <summary>Bytes per stored value.</summary>
    public double BytesPerElement => (double)GgmlTypeTraits.GetTypeSize(Type) / GgmlTypeTraits.GetBlockSize(Type);

    /// <summary>Values per quantization block (1 for float types); head sizes must be a multiple of it.</summary>
    public int BlockSize => GgmlTypeTraits.GetBlockSize(Type);

    public static KvCacheType Parse(string text, string option) =>
        Known.TryGetValue(text.Trim(), out var type)
            ? new KvCacheType(text.Trim().ToLowerInvariant(), type)
            : throw new CapacityUsageException($"{option} '{text}' is not a KV cache type. Use one of: {string.Join(", ", Known.Keys)}.");
}
