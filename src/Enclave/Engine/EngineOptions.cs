using System.ComponentModel.DataAnnotations;

namespace Enclave.Engine;

/// <summary>
/// How one local model is served. Zero means "derive from the model and the machine".
/// Bound from <c>Models:NAME</c> in enclave.json, or from <c>--model NAME=PATH</c>.
/// </summary>
public sealed class EngineOptions
{
    /// <summary>Path to the GGUF file.</summary>
    [Required]
    public string Path { get; set; } = "";

    /// <summary>Concurrent sequences sharing one context (llama.cpp n_seq_max). 0 = 4.</summary>
    [Range(0, 64)]
    public int Slots { get; set; }

    /// <summary>Context length per sequence in tokens. 0 = the model's training context, capped at 4096.</summary>
    [Range(0, 1_048_576)]
    public int ContextSize { get; set; }

    /// <summary>CPU threads for decoding. 0 = one less than the cores (at least 1), capped at 8.</summary>
    [Range(0, 256)]
    public int Threads { get; set; }

    /// <summary>Largest number of tokens submitted in one llama_decode call.</summary>
    [Range(16, 8192)]
    public int BatchSize { get; set; } = 512;

    /// <summary>Most prompt tokens of one sequence prefilled per step, so long prompts do not stall running streams.</summary>
    [Range(8, 8192)]
    public int PrefillChunk { get; set; } = 256;

    /// <summary>Requests waiting for a free slot before new ones get 429.</summary>
    [Range(0, 100_000)]
    public int QueueCapacity { get; set; } = 64;

    /// <summary>Hard cap on max_tokens for one request (0 = the context size).</summary>
    [Range(0, 1_048_576)]
    public int MaxTokensLimit { get; set; }

    /// <summary>
    /// Idle time before the model is unloaded (Ollama's <c>keep_alive</c>): a duration such as <c>5m</c>, <c>30s</c>
    /// or <c>1h30m</c>, <c>0</c> (unload right after the last request) or <c>-1</c> (never). Unset: never for a
    /// preloaded model, else <c>Residency:KeepAlive</c> (5m). The gateway reads it; the worker ignores it.
    /// </summary>
    public string? KeepAlive { get; set; }

    /// <summary>Load at start-up (true, the default) or on the first request (false). The gateway reads it.</summary>
    public bool? Preload { get; set; }

    internal int EffectiveSlots => Slots > 0 ? Slots : 4;

    internal int EffectiveThreads => Threads > 0 ? Threads : Math.Clamp(Environment.ProcessorCount - 1, 1, 8);

    internal int EffectiveContextSize(int trainContext) =>
        ContextSize > 0 ? ContextSize : Math.Clamp(trainContext > 0 ? trainContext : 4096, 64, 4096);
}
