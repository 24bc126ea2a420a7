using Enclave.Engine;
using Enclave.Native.Gguf;

namespace Enclave.Backends;

/// <summary>
/// Estimates the memory one loaded model takes, before it is loaded, from its GGUF file and its engine settings:
/// the worker process itself, the weights, a second copy of weights repacked at load, the KV cache of all its
/// slots, and the compute buffers. Once loaded, the residency manager uses the worker's measured resident memory
/// when it is larger. Stateless.
/// </summary>
internal static class ModelFootprint
{
    /// <summary>
    /// An idle <c>enclave worker</c> with a 1 MB model measured 90-100 MiB resident here: the .NET runtime, the
    /// llama.cpp and ggml libraries and the worker's HTTP server.
    /// </summary>
    public const long WorkerOverheadBytes = 96L * 1024 * 1024;

    // llama.cpp's default KV cache type is F16 (llama_context_params.type_k/type_v).
    private const int KvBytesPerElement = 2;

    public static long Estimate(EngineOptions options)
    {
        GgufModelInfo info;
        try
        {
            info = GgufReader.Read(options.Path).Info;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidModelFileException)
        {
            // Start-up validation refuses such files; if one changed since, count what is known.
            return WorkerOverheadBytes + (File.Exists(options.Path) ? new FileInfo(options.Path).Length : 0);
        }

        return Estimate(info, options);
    }

    public static long Estimate(GgufModelInfo info, EngineOptions options)
    {
        var weights = info.FileSizeBytes;
        // Q4_0 weights are repacked at load on AVX2/AVX-512 CPUs into anonymous memory (see ENGINE-NOTES.md).
        if (info.Quantization == "Q4_0")
        {
            weights += info.TensorDataBytes;
        }

        var embd = (long)(info.EmbeddingLength ?? 0);
        var encoder = info.Architecture.Contains("bert", StringComparison.Ordinal) || info.Architecture == "t5encoder";
        long kv = 0;
        long batch = options.BatchSize;
        if (encoder)
        {
            // Encoders keep no KV cache; their embedding context batches the whole input at once.
            batch = Math.Clamp(info.ContextLength ?? 512, 32, 8192);
        }
        else
        {
            var cells = (long)options.EffectiveSlots * options.EffectiveContextSize(info.ContextLength ?? 0);
            var perToken = (long)(info.HeadCountKv ?? 0) * (info.HeadDimension ?? 0);
            if (perToken == 0)
            {
                perToken = embd;
            }

            kv = (long)(info.BlockCount ?? 0) * cells * perToken * 2 * KvBytesPerElement;
        }

        // Activations for one micro-batch and the logits of its outputs, in F32.
        var compute = batch * ((info.VocabularySize ?? 0) + (4 * embd) + (info.FeedForwardLength ?? 0)) * sizeof(float);
        return WorkerOverheadBytes + weights + kv + compute;
    }
}
