using Enclave.Native.Gguf;

namespace Enclave.Capacity.Plan;

/// <summary>
/// What a decoder model needs in memory, read from its GGUF header (no tensor data is read): the weights, the
/// bytes read from memory to decode one token, and the shape of its attention, from which the KV cache per token
/// follows. Per-layer head counts (stored as arrays by some architectures) are summed layer by layer. Immutable.
/// </summary>
public sealed record ModelMemory
{
    public required string Path { get; init; }

    public string? Name { get; init; }

    public required string Architecture { get; init; }

    public required string Quantization { get; init; }

    public required long Parameters { get; init; }

    /// <summary>All tensor data: what loading the model takes.</summary>
    public required long WeightsBytes { get; init; }

    /// <summary>
    /// Weight bytes read for each decoded token: every tensor except the token embedding, of which one row is
    /// looked up (unless the output projection is tied to it, when all of it is read).
    /// </summary>
    public required long WeightsReadPerTokenBytes { get; init; }

    public required int Layers { get; init; }

    /// <summary>KV heads summed over all layers (layers × KV heads when every layer has the same).</summary>
    public required long KvHeadsTotal { get; init; }

    /// <summary>KV heads of one layer (the largest, when they differ).</summary>
    public required int KvHeads { get; init; }

    public required int KeyLength { get; init; }

    public required int ValueLength { get; init; }

    public int? TrainingContext { get; init; }

    public int? EmbeddingLength { get; init; }

    public int? FeedForwardLength { get; init; }

    public int? VocabularySize { get; init; }

    /// <summary>Bytes of KV cache per token of one sequence: Σ over layers of KV heads × (key + value length) × element size.</summary>
    public double KvBytesPerToken(KvCacheType keyType, KvCacheType valueType)
    {
        ArgumentNullException.ThrowIfNull(keyType);
        ArgumentNullException.ThrowIfNull(valueType);
        return KvHeadsTotal * ((KeyLength * keyType.BytesPerElement) + (ValueLength * valueType.BytesPerElement));
    }

    /// <summary>Reads the header of <paramref name="path"/>; a file that is not a decoder model is a usage error.</summary>
    public static ModelMemory Read(string path)
    {
        GgufFile file;
        try
        {
            file = GgufReader.Read(path);
        }
        catch (InvalidModelFileException ex)
        {
            throw new CapacityUsageException($"'{path}' is not a usable GGUF file: {ex.Message}");
        }

        return From(file);
    }

    public static ModelMemory From(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var info = file.Info;
        var arch = info.Architecture;
        if (info.PoolingType is not null || arch.Contains("bert", StringComparison.OrdinalIgnoreCase))
        {
            throw new CapacityUsageException($"'{file.Path}' is an embedding model ({arch}): it has no KV cache or decode phase to plan for.");
        }

        var layers = info.BlockCount is { } l && l > 0 ? l : throw Missing(file, $"{arch}.block_count");
        var heads = file.GetValue($"{arch}.attention.head_count") ?? throw Missing(file, $"{arch}.attention.head_count");
        var kv = file.GetValue($"{arch}.attention.head_count_kv") ?? heads;
        var perLayer = PerLayer(kv, layers);
        var keyLength = file.GetValue($"{arch}.attention.key_length")?.AsCount() ?? info.HeadDimension ?? throw Missing(file, $"{arch}.attention.key_length");
        var valueLength = file.GetValue($"{arch}.attention.value_length")?.AsCount() ?? keyLength;
        var embedding = file.Tensors.FirstOrDefault(t => t.Name == "token_embd.weight");
        var tied = file.Tensors.All(t => t.Name != "output.weight");
        var read = info.TensorDataBytes - (embedding is not null && !tied ? embedding.ByteSize : 0);
        return new ModelMemory
        {
            Path = file.Path,
            Name = info.Name,
            Architecture = arch,
            Quantization = info.Quantization,
            Parameters = info.ParameterCount,
            WeightsBytes = info.TensorDataBytes,
            WeightsReadPerTokenBytes = read,
            Layers = layers,
            KvHeadsTotal = perLayer.Sum(h => (long)h),
            KvHeads = perLayer.Max(),
            KeyLength = keyLength,
            ValueLength = valueLength,
            TrainingContext = info.ContextLength,
            EmbeddingLength = info.EmbeddingLength,
            FeedForwardLength = info.FeedForwardLength,
            VocabularySize = info.VocabularySize ?? (embedding is { DimensionCount: 2 } e ? (int)e.GetDimension(1) : null),
        };
    }

    private static int[] PerLayer(GgufValue value, int layers)
    {
        if (value.Type != GgufValueType.Array)
        {
            return Enumerable.Repeat(value.AsCount(), layers).ToArray();
        }

        var values = value.AsArray().Select(v => v.AsCount()).ToArray();
        return values.Length == layers ? values : Enumerable.Repeat(values.DefaultIfEmpty(0).Max(), layers).ToArray();
    }

    private static CapacityUsageException Missing(GgufFile file, string key) =>
        new($"'{file.Path}' lacks '{key}': plan needs the layer count and attention shape of a decoder model.");
}
