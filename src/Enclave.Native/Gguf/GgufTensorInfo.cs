namespace Enclave.Native.Gguf;

/// <summary>One tensor's header entry. Tensor data is never read.</summary>
public sealed class GgufTensorInfo
{
    private readonly long[] _dimensions;

    public GgufTensorInfo(string name, IReadOnlyList<long> dimensions, GgmlType type, long offset, long byteSize)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(dimensions);
        Name = name;
        _dimensions = [.. dimensions];
        Type = type;
        Offset = offset;
        ByteSize = byteSize;
        long count = 1;
        foreach (var d in _dimensions)
        {
            count = d > 0 && count <= long.MaxValue / d ? count * d : 0;
        }

        ElementCount = _dimensions.Length == 0 ? 0 : count;
    }

    /// <summary>The tensor name, for example <c>blk.0.attn_q.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The dimensions as stored (ggml <c>ne</c>, innermost first); 1 to 4 entries. A copy is returned.</summary>
    public long[] Dimensions => (long[])_dimensions.Clone();

    /// <summary>Number of dimensions.</summary>
    public int DimensionCount => _dimensions.Length;

    /// <summary>The ggml element type.</summary>
    public GgmlType Type { get; }

    /// <summary>Offset of the tensor data relative to the start of the data section (<see cref="GgufFile.DataOffset"/>).</summary>
    public long Offset { get; }

    /// <summary>Size of the tensor data in bytes.</summary>
    public long ByteSize { get; }

    /// <summary>Product of the dimensions.</summary>
    public long ElementCount { get; }

    /// <summary>Returns dimension <paramref name="index"/> (0 = innermost).</summary>
    public long GetDimension(int index) => _dimensions[index];

    public override string ToString() =>
        $"{Name} [{string.Join(", ", _dimensions)}] {Type} @{Offset} ({ByteSize} bytes)";
}
