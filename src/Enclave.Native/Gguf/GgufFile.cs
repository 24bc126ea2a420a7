namespace Enclave.Native.Gguf;

/// <summary>The parsed and validated header of a GGUF file: metadata, tensor infos and layout. Tensor data is not loaded.</summary>
public sealed class GgufFile
{
    private readonly OrderedDictionary<string, GgufValue> _metadata;

    internal GgufFile(
        string path,
        uint version,
        long fileSize,
        uint alignment,
        long dataOffset,
        OrderedDictionary<string, GgufValue> metadata,
        IReadOnlyList<GgufTensorInfo> tensors)
    {
        Path = path;
        Version = version;
        FileSize = fileSize;
        Alignment = alignment;
        DataOffset = dataOffset;
        _metadata = metadata;
        MetadataKeys = [.. metadata.Keys];
        Tensors = tensors;
        Info = GgufModelInfo.FromFile(this);
    }

    /// <summary>The path or display name the file was read from.</summary>
    public string Path { get; }

    /// <summary>GGUF format version (2 or 3).</summary>
    public uint Version { get; }

    /// <summary>Total file size in bytes.</summary>
    public long FileSize { get; }

    /// <summary>Data alignment (<c>general.alignment</c>, default 32).</summary>
    public uint Alignment { get; }

    /// <summary>
    /// Absolute byte offset of the tensor data section: the end of the header padded to <see cref="Alignment"/> (unpadded
    /// when the file has no tensors, as in llama.cpp's vocab-only files).
    /// </summary>
    public long DataOffset { get; }

    /// <summary>All metadata; enumerates in file order.</summary>
    public IReadOnlyDictionary<string, GgufValue> Metadata => _metadata;

    /// <summary>Metadata keys in file order.</summary>
    public IReadOnlyList<string> MetadataKeys { get; }

    /// <summary>Tensor infos in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Well-known model properties, validated when the file was read.</summary>
    public GgufModelInfo Info { get; }

    /// <summary>Returns the metadata value for <paramref name="key"/>, or null when absent.</summary>
    public GgufValue? GetValue(string key) => _metadata.TryGetValue(key, out var v) ? v : null;

    /// <summary>The string value of <paramref name="key"/>, null when absent; throws <see cref="InvalidModelFileException"/> when not a string.</summary>
    public string? GetString(string key) => GetValue(key)?.AsString();

    /// <summary>The integer value of <paramref name="key"/>, null when absent; throws <see cref="InvalidModelFileException"/> when not an integer.</summary>
    public long? GetInt64(string key) => GetValue(key)?.AsInt64();
}
