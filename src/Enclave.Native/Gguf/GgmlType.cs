using System.Diagnostics.CodeAnalysis;

namespace Enclave.Native.Gguf;

#pragma warning disable CA1707 // Member names mirror ggml's GGML_TYPE_* names exactly.

/// <summary>
/// Tensor element types, with the numeric ids used by ggml (<c>enum ggml_type</c> in ggml.h).
/// Ids 4, 5 (Q4_2, Q4_3), 31–33 (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8) and 36–38 (IQ4_NL_x_y) were removed from ggml
/// and are rejected in files.
/// </summary>
[SuppressMessage("Design", "CA1008:Enums should have zero value", Justification = "Zero is F32, as in ggml.")]
public enum GgmlType
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
    NVFP4 = 40,
    Q1_0 = 41,
    Q2_0 = 42,
}

#pragma warning restore CA1707

/// <summary>Block and byte sizes of the ggml tensor types (ggml.c <c>type_traits</c>).</summary>
public static class GgmlTypeTraits
{
    /// <summary>One past the largest ggml type id this reader knows (<c>GGML_TYPE_COUNT</c>).</summary>
    public const int TypeCount = 43;

    // Index = ggml type id. (blockSize, typeSize); (0, 0) = removed / unknown id.
    private static readonly (int BlockSize, int TypeSize)[] Traits = BuildTraits();

    /// <summary>True when <paramref name="type"/> is a type id that ggml still supports in GGUF files.</summary>
    public static bool IsSupported(GgmlType type) =>
        (uint)type < (uint)Traits.Length && Traits[(int)type].BlockSize != 0;

    /// <summary>Number of elements in one block (1 for plain types, 32 or 256 for most quantized types).</summary>
    public static int GetBlockSize(GgmlType type) => GetTraits(type).BlockSize;

    /// <summary>Number of bytes one block occupies.</summary>
    public static int GetTypeSize(GgmlType type) => GetTraits(type).TypeSize;

    /// <summary>
    /// Byte size of <paramref name="elementCount"/> elements, or null when the type is unsupported
    /// or the count is not a whole number of blocks.
    /// </summary>
    public static long? GetByteSize(GgmlType type, long elementCount)
    {
        if (!IsSupported(type) || elementCount < 0)
        {
            return null;
        }

        var (blockSize, typeSize) = Traits[(int)type];
        if (elementCount % blockSize != 0)
        {
            return null;
        }

        var blocks = elementCount / blockSize;
        if (blocks > long.MaxValue / typeSize)
        {
            return null;
        }

        return blocks * typeSize;
    }

    private static (int BlockSize, int TypeSize) GetTraits(GgmlType type)
    {
        if (!IsSupported(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Unsupported ggml type id.");
        }

        return Traits[(int)type];
    }

    private static (int, int)[] BuildTraits()
    {
        const int qkK = 256;
        var t = new (int, int)[TypeCount];
        t[(int)GgmlType.F32] = (1, 4);
        t[(int)GgmlType.F16] = (1, 2);
        t[(int)GgmlType.Q4_0] = (32, 18);
        t[(int)GgmlType.Q4_1] = (32, 20);
        t[(int)GgmlType.Q5_0] = (32, 22);
        t[(int)GgmlType.Q5_1] = (32, 24);
        t[(int)GgmlType.Q8_0] = (32, 34);
        t[(int)GgmlType.Q8_1] = (32, 36);
        t[(int)GgmlType.Q2_K] = (qkK, 84);
        t[(int)GgmlType.Q3_K] = (qkK, 110);
        t[(int)GgmlType.Q4_K] = (qkK, 144);
        t[(int)GgmlType.Q5_K] = (qkK, 176);
        t[(int)GgmlType.Q6_K] = (qkK, 210);
        t[(int)GgmlType.Q8_K] = (qkK, 292);
        t[(int)GgmlType.IQ2_XXS] = (qkK, 66);
        t[(int)GgmlType.IQ2_XS] = (qkK, 74);
        t[(int)GgmlType.IQ3_XXS] = (qkK, 98);
        t[(int)GgmlType.IQ1_S] = (qkK, 50);
        t[(int)GgmlType.IQ4_NL] = (32, 18);
        t[(int)GgmlType.IQ3_S] = (qkK, 110);
        t[(int)GgmlType.IQ2_S] = (qkK, 82);
        t[(int)GgmlType.IQ4_XS] = (qkK, 136);
        t[(int)GgmlType.I8] = (1, 1);
        t[(int)GgmlType.I16] = (1, 2);
        t[(int)GgmlType.I32] = (1, 4);
        t[(int)GgmlType.I64] = (1, 8);
        t[(int)GgmlType.F64] = (1, 8);
        t[(int)GgmlType.IQ1_M] = (qkK, 56);
        t[(int)GgmlType.BF16] = (1, 2);
        t[(int)GgmlType.TQ1_0] = (qkK, 54);
        t[(int)GgmlType.TQ2_0] = (qkK, 66);
        t[(int)GgmlType.MXFP4] = (32, 17);
        t[(int)GgmlType.NVFP4] = (64, 36);
        t[(int)GgmlType.Q1_0] = (128, 18);
        t[(int)GgmlType.Q2_0] = (64, 18);
        return t;
    }
}
