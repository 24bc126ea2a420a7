namespace Enclave.Native.Gguf;

/// <summary>
/// Upper bounds the GGUF reader enforces before it allocates anything. The defaults accept every real model seen so far
/// (vocabularies of a few hundred thousand tokens, tens of thousands of tensors) and reject absurd headers.
/// </summary>
public sealed record GgufReaderLimits
{
    /// <summary>The default limits.</summary>
    public static GgufReaderLimits Default { get; } = new();

    /// <summary>Most tensors a file may declare.</summary>
    public long MaxTensorCount { get; init; } = 1 << 20;

    /// <summary>Most metadata key/value pairs a file may declare.</summary>
    public long MaxMetadataCount { get; init; } = 1 << 20;

    /// <summary>Longest metadata key name, in UTF-8 bytes.</summary>
    public int MaxKeyBytes { get; init; } = 1 << 20;

    /// <summary>Longest string value (including each string in an array), in UTF-8 bytes.</summary>
    public int MaxStringBytes { get; init; } = 64 << 20;

    /// <summary>Longest tensor name, in UTF-8 bytes. ggml stores names in 64 bytes including the terminator.</summary>
    public int MaxTensorNameBytes { get; init; } = 63;

    /// <summary>Most elements in one metadata array.</summary>
    public long MaxArrayLength { get; init; } = 1 << 24;

    /// <summary>Deepest array nesting (1 = arrays of scalars or strings only). llama.cpp itself does not accept nested arrays.</summary>
    public int MaxArrayNesting { get; init; } = 8;

    /// <summary>Most elements in one tensor (product of its dimensions).</summary>
    public long MaxTensorElements { get; init; } = 1L << 40;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(MaxTensorCount, nameof(MaxTensorCount));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxMetadataCount, nameof(MaxMetadataCount));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxKeyBytes, nameof(MaxKeyBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxStringBytes, nameof(MaxStringBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxTensorNameBytes, nameof(MaxTensorNameBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxArrayLength, nameof(MaxArrayLength));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxArrayNesting, nameof(MaxArrayNesting));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxTensorElements, nameof(MaxTensorElements));
    }
}
