namespace Enclave.Native.Gguf;

/// <summary>Well-known model properties taken from GGUF metadata and tensor infos.</summary>
public sealed record GgufModelInfo
{
    /// <summary><c>general.architecture</c>, for example <c>llama</c> or <c>bert</c>. Always present.</summary>
    public required string Architecture { get; init; }

    /// <summary><c>general.name</c>, when present.</summary>
    public string? Name { get; init; }

    /// <summary>Sum of the element counts of all tensors.</summary>
    public long ParameterCount { get; init; }

    /// <summary>Sum of the byte sizes of all tensors.</summary>
    public long TensorDataBytes { get; init; }

    /// <summary>The raw <c>general.file_type</c> (llama_ftype), when present.</summary>
    public int? FileType { get; init; }

    /// <summary>
    /// Quantization label, for example "F32", "F16", "Q4_0", "Q8_0", "Q4_K_M": from <c>general.file_type</c> when present and
    /// known, otherwise the most common type among 2-D tensors (among all tensors when there are none), or "unknown".
    /// </summary>
    public required string Quantization { get; init; }

    /// <summary><c>{arch}.context_length</c> (training context).</summary>
    public int? ContextLength { get; init; }

    /// <summary><c>{arch}.embedding_length</c>.</summary>
    public int? EmbeddingLength { get; init; }

    /// <summary><c>{arch}.block_count</c> (number of layers).</summary>
    public int? BlockCount { get; init; }

    /// <summary><c>{arch}.attention.head_count</c> (the largest value when stored per layer).</summary>
    public int? HeadCount { get; init; }

    /// <summary><c>{arch}.attention.head_count_kv</c>, defaulting to <see cref="HeadCount"/>.</summary>
    public int? HeadCountKv { get; init; }

    /// <summary><c>{arch}.attention.key_length</c>, else embedding length / head count.</summary>
    public int? HeadDimension { get; init; }

    /// <summary><c>{arch}.feed_forward_length</c> (the largest value when stored per layer).</summary>
    public int? FeedForwardLength { get; init; }

    /// <summary>Number of entries in <c>tokenizer.ggml.tokens</c>.</summary>
    public int? VocabularySize { get; init; }

    /// <summary><c>tokenizer.ggml.model</c>, for example <c>llama</c>, <c>gpt2</c> or <c>bert</c>.</summary>
    public string? TokenizerModel { get; init; }

    /// <summary><c>tokenizer.chat_template</c>, when present.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary><c>{arch}.pooling_type</c> (llama_pooling_type: 0 none, 1 mean, 2 cls, 3 last, 4 rank), when present.</summary>
    public int? PoolingType { get; init; }

    /// <summary>File size in bytes.</summary>
    public long FileSizeBytes { get; init; }

    internal static GgufModelInfo FromFile(GgufFile file)
    {
        var archValue = file.GetValue("general.architecture")
            ?? throw new InvalidModelFileException(file.Path, "required metadata key 'general.architecture' is missing", null);
        var arch = archValue.AsString();
        if (arch.Length == 0)
        {
            throw new InvalidModelFileException(file.Path, "metadata key 'general.architecture' is empty", archValue.Context?.Offset);
        }

        long parameters = 0;
        long bytes = 0;
        foreach (var t in file.Tensors)
        {
            parameters += t.ElementCount;
            bytes += t.ByteSize;
        }

        var fileType = GetInt32(file, "general.file_type");
        var label = fileType is { } ft ? GgufFileTypes.GetLabel(ft) : null;
        label ??= DominantTensorType(file.Tensors);

        var embedding = GetInt32(file, $"{arch}.embedding_length");
        var heads = GetInt32OrMax(file, $"{arch}.attention.head_count");
        var headsKv = GetInt32OrMax(file, $"{arch}.attention.head_count_kv") ?? heads;
        var headDim = GetInt32(file, $"{arch}.attention.key_length");
        if (headDim is null && embedding is > 0 && heads is > 0)
        {
            headDim = embedding.Value / heads.Value;
        }

        int? vocab = null;
        if (file.GetValue("tokenizer.ggml.tokens") is { } tokens)
        {
            vocab = tokens.AsArray().AsStrings().Count;
        }

        return new GgufModelInfo
        {
            Architecture = arch,
            Name = file.GetString("general.name"),
            ParameterCount = parameters,
            TensorDataBytes = bytes,
            FileType = fileType,
            Quantization = label,
            ContextLength = GetInt32(file, $"{arch}.context_length"),
            EmbeddingLength = embedding,
            BlockCount = GetInt32(file, $"{arch}.block_count"),
            HeadCount = heads,
            HeadCountKv = headsKv,
            HeadDimension = headDim,
            FeedForwardLength = GetInt32OrMax(file, $"{arch}.feed_forward_length"),
            VocabularySize = vocab,
            TokenizerModel = file.GetString("tokenizer.ggml.model"),
            ChatTemplate = file.GetString("tokenizer.chat_template"),
            PoolingType = GetInt32(file, $"{arch}.pooling_type"),
            FileSizeBytes = file.FileSize,
        };
    }

    private static int? GetInt32(GgufFile file, string key) => file.GetValue(key)?.AsCount();

    // Some architectures store per-layer values (an integer array) for head counts and feed-forward sizes.
    private static int? GetInt32OrMax(GgufFile file, string key)
    {
        var value = file.GetValue(key);
        if (value is null)
        {
            return null;
        }

        if (value.Type != GgufValueType.Array)
        {
            return value.AsCount();
        }

        int? max = null;
        foreach (var element in value.AsArray())
        {
            var v = element.AsCount();
            max = max is null || v > max ? v : max;
        }

        return max;
    }

    private static string DominantTensorType(IReadOnlyList<GgufTensorInfo> tensors)
    {
        var candidates = tensors.Any(t => t.DimensionCount == 2) ? tensors.Where(t => t.DimensionCount == 2) : tensors;
        var best = candidates
            .GroupBy(t => t.Type)
            .Select(g => (Type: g.Key, Count: g.Count(), Elements: g.Sum(t => t.ElementCount)))
            .OrderByDescending(g => g.Count)
            .ThenByDescending(g => g.Elements)
            .ThenBy(g => (int)g.Type)
            .FirstOrDefault();
        return best.Count == 0 ? "unknown" : best.Type.ToString();
    }
}

/// <summary>Labels for <c>general.file_type</c> (llama_ftype in llama.h).</summary>
public static class GgufFileTypes
{
    private static readonly Dictionary<int, string> Labels = new()
    {
        [0] = "F32",
        [1] = "F16",
        [2] = "Q4_0",
        [3] = "Q4_1",
        [7] = "Q8_0",
        [8] = "Q5_0",
        [9] = "Q5_1",
        [10] = "Q2_K",
        [11] = "Q3_K_S",
        [12] = "Q3_K_M",
        [13] = "Q3_K_L",
        [14] = "Q4_K_S",
        [15] = "Q4_K_M",
        [16] = "Q5_K_S",
        [17] = "Q5_K_M",
        [18] = "Q6_K",
        [19] = "IQ2_XXS",
        [20] = "IQ2_XS",
        [21] = "Q2_K_S",
        [22] = "IQ3_XS",
        [23] = "IQ3_XXS",
        [24] = "IQ1_S",
        [25] = "IQ4_NL",
        [26] = "IQ3_S",
        [27] = "IQ3_M",
        [28] = "IQ2_S",
        [29] = "IQ2_M",
        [30] = "IQ4_XS",
        [31] = "IQ1_M",
        [32] = "BF16",
        [36] = "TQ1_0",
        [37] = "TQ2_0",
        [38] = "MXFP4_MOE",
        [39] = "NVFP4",
        [40] = "Q1_0",
        [41] = "Q2_0",
    };

    /// <summary>The label for a llama_ftype id (the GUESSED flag 1024 is ignored), or null when unknown.</summary>
    public static string? GetLabel(int fileType) =>
        Labels.TryGetValue(fileType & ~1024, out var label) ? label : null;
}
