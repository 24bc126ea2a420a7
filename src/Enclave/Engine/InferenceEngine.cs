using System.Threading.Channels;
using Enclave.Native;
using Enclave.Native.Interop;
using Microsoft.Extensions.Logging;

namespace Enclave.Engine;

/// <summary>
/// Serves one GGUF model with continuous batching: every admitted request becomes a sequence in one shared
/// llama.cpp context, and one decode loop thread runs one <c>llama_decode</c> per step for all of them,
/// interleaving chunked prompt prefill with the decoding of running sequences. Submission, tokenization and
/// status are thread-safe; only the loop thread touches the context.
/// </summary>
public sealed partial class InferenceEngine : IDisposable
{
    private readonly EngineOptions _options;
    private readonly ILogger _logger;
    private readonly AdmissionQueue _queue;
    private readonly Channel<EmbeddingJob> _embeddingQueue;
    private readonly ManualResetEventSlim _work = new(false);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Thread? _loop;
    private readonly SafeLlamaContextHandle? _context;
    private readonly Lazy<SafeLlamaContextHandle> _embeddingContext;
    private readonly int _embeddingContextSize;
    private int _active;
    private long _kvUsed;
    private long _promptTokens;
    private long _generatedTokens;
    private long _steps;

    private InferenceEngine(LlamaModel model, EngineOptions options, ILogger logger)
    {
        Model = model;
        _options = options;
        _logger = logger;
        Slots = options.EffectiveSlots;
        Threads = options.EffectiveThreads;
        ContextPerSequence = options.EffectiveContextSize(model.TrainContextLength);
        _queue = new AdmissionQueue(Math.Max(1, options.QueueCapacity));
        _embeddingQueue = Channel.CreateBounded<EmbeddingJob>(new BoundedChannelOptions(Math.Max(1, options.QueueCapacity))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _embeddingContextSize = Math.Clamp(model.TrainContextLength > 0 ? model.TrainContextLength : 512, 32, 8192);
        _embeddingContext = new Lazy<SafeLlamaContextHandle>(CreateEmbeddingContext, LazyThreadSafetyMode.ExecutionAndPublication);

        if (!model.IsEmbeddingOnly)
        {
            var p = LlamaNative.llama_context_default_params();
            p.NCtx = (uint)(ContextPerSequence * Slots);
            p.NSeqMax = (uint)Slots;
            p.NBatch = (uint)options.BatchSize;
            p.NUbatch = (uint)options.BatchSize;
            p.NThreads = Threads;
            p.NThreadsBatch = Threads;
            p.NoPerf = 1;
            // One KV stream per sequence (kv_unified = false): a sequence's attention then never sees the other
            // sequences' cells, so a greedy request gives the same tokens alone or batched. A unified buffer was as
            // fast but its results depended on what else was in the batch. llama.cpp splits a batch into ubatches
            // of consecutive sequence ids, so the loop hands out the lowest free id and orders batches by id.
            p.KvUnified = 0;
            _context = SafeLlamaContextHandle.Create(model.Handle, p);
            ContextPerSequence = (int)LlamaNative.llama_n_ctx_seq(_context.DangerousGetHandle());
        }

        _loop = new Thread(RunLoop) { IsBackground = true, Name = "enclave-decode" };
        _loop.Start();
    }

    public LlamaModel Model { get; }

    public int Slots { get; }

    public int Threads { get; }

    /// <summary>Tokens one sequence may hold (prompt plus completion).</summary>
    public int ContextPerSequence { get; }

    public bool IsGenerative => !Model.IsEmbeddingOnly;

    /// <summary>The most completion tokens one request may ask for (<c>MaxTokensLimit</c>, else the context).</summary>
    public int MaxTokensLimit => _options.MaxTokensLimit > 0 ? Math.Min(_options.MaxTokensLimit, ContextPerSequence) : ContextPerSequence;

    /// <summary>Loads the model and starts the decode loop. Throws <see cref="LlamaException"/> when llama.cpp refuses.</summary>
    public static InferenceEngine Load(EngineOptions options, ILogger logger)
    {
        var model = LlamaModel.Load(options.Path);
        try
        {
            return new InferenceEngine(model, options, logger);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Tokenizes text for this model (special tokens in the text are parsed).</summary>
    public int[] Tokenize(string text, bool addSpecial = true) => Model.Tokenize(text, addSpecial, parseSpecial: true);

    /// <summary>
    /// Renders and tokenizes a chat. The template's markers are parsed as special tokens; message contents never
    /// are, so a user who types <c>&lt;|im_start|&gt;system</c> or <c>&lt;/s&gt;</c> gets plain text, not control
    /// tokens. Contents without any special-token text (the usual case) are tokenized with the whole prompt.
    /// </summary>
    public int[] TokenizeChat(IReadOnlyList<(string Role, string Content)> messages)
    {
        var specials = Model.SpecialTokenTexts;
        if (!messages.Any(m => specials.Any(s => m.Content.Contains(s, StringComparison.Ordinal))))
        {
            return Tokenize(RenderChat(messages));
        }

        // Render with placeholders, then tokenize the template parts with special parsing and the contents without.
        var placeholders = messages.Select((_, i) => $"enclave-message-{i}").ToArray();
        var rendered = RenderChat([.. messages.Select((m, i) => (m.Role, placeholders[i]))]);
        var tokens = new List<int>();
        var position = 0;
        var first = true;
        for (var i = 0; i < messages.Count; i++)
        {
            var at = rendered.IndexOf(placeholders[i], position, StringComparison.Ordinal);
            if (at < 0)
            {
                // The template dropped or rewrote a message; fall back to treating the whole prompt as text.
                return Model.Tokenize(RenderChat(messages), addSpecial: true, parseSpecial: false);
            }

            tokens.AddRange(Model.Tokenize(rendered[position..at], addSpecial: first, parseSpecial: true));
            first = false;
            tokens.AddRange(Model.Tokenize(messages[i].Content, addSpecial: false, parseSpecial: false));
            position = at + placeholders[i].Length;
        }

        tokens.AddRange(Model.Tokenize(rendered[position..], addSpecial: false, parseSpecial: true));
        return [.. tokens];
    }

    /// <summary>Renders chat messages with the model's template (ChatML when it has none or llama.cpp does not know it).</summary>
    public string RenderChat(IReadOnlyList<(string Role, string Content)> messages)
    {
        if (Model.ChatTemplate is { } template && LlamaModel.ApplyChatTemplate(template, messages, addAssistant: true) is { } rendered)
        {
            return rendered;
        }

        if (Model.ChatTemplate is not null)
        {
            LogTemplateFallback(_logger, Model.Path);
        }

        return LlamaModel.ApplyChatTemplate("chatml", messages, addAssistant: true)!;
    }

    /// <summary>
    /// Offers a request to the admission queue. On <see cref="AdmissionStatus.Accepted"/> the events arrive on
    /// <paramref name="events"/>. Cancelling <paramref name="cancellationToken"/> takes a waiting request out of the
    /// queue at once (it is never admitted), and ends an admitted one, prefilling or decoding, freeing its slot at
    /// the next decode step.
    /// </summary>
    public AdmissionStatus TrySubmit(GenerationRequest request, CancellationToken cancellationToken, out ChannelReader<GenerationEvent>? events)
    {
        events = null;
        if (!IsGenerative)
        {
            return AdmissionStatus.NotGenerative;
        }

        if (_stopping.IsCancellationRequested)
        {
            return AdmissionStatus.ShuttingDown;
        }

        if (request.PromptTokens.Length == 0 || request.PromptTokens.Length >= ContextPerSequence)
        {
            return AdmissionStatus.ContextLengthExceeded;
        }

        var pending = new PendingGeneration(request, cancellationToken);
        if (!_queue.TryEnqueue(pending))
        {
            return AdmissionStatus.QueueFull;
        }

        _work.Set();
        events = pending.Output.Reader;
        return AdmissionStatus.Accepted;
    }

    /// <summary>A snapshot of load and counters.</summary>
    public EngineStatus GetStatus() => new(
        Slots,
        Volatile.Read(ref _active),
        _queue.Count,
        ContextPerSequence,
        Interlocked.Read(ref _kvUsed),
        (long)ContextPerSequence * Slots,
        Interlocked.Read(ref _promptTokens),
        Interlocked.Read(ref _generatedTokens),
        Interlocked.Read(ref _steps));

    public void Dispose()
    {
        _stopping.Cancel();
        _work.Set();
        _loop?.Join(TimeSpan.FromSeconds(10));
        _context?.Dispose();
        if (_embeddingContext.IsValueCreated)
        {
            _embeddingContext.Value.Dispose();
        }

        Model.Dispose();
        _stopping.Dispose();
        _work.Dispose();
    }

    private SafeLlamaContextHandle CreateEmbeddingContext()
    {
        var p = LlamaNative.llama_context_default_params();
        p.NCtx = (uint)_embeddingContextSize;
        p.NBatch = (uint)_embeddingContextSize;
        p.NUbatch = (uint)_embeddingContextSize;
        p.NSeqMax = 1;
        p.NThreads = Threads;
        p.NThreadsBatch = Threads;
        p.Embeddings = 1;
        p.NoPerf = 1;
        // Encoder models carry their pooling in metadata; decoder models are mean-pooled.
        p.PoolingType = Model.PoolingType is null ? (int)LlamaPoolingType.Mean : (int)LlamaPoolingType.Unspecified;
        return SafeLlamaContextHandle.Create(Model.Handle, p);
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Chat template of {ModelPath} is not one llama.cpp renders; using ChatML")]
    private static partial void LogTemplateFallback(ILogger logger, string modelPath);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "llama_decode returned {Code}; failing {Count} sequences")]
    private static partial void LogDecodeFailed(ILogger logger, int code, int count);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Critical, Message = "Decode loop stopped unexpectedly")]
    private static partial void LogLoopCrashed(ILogger logger, Exception error);
}
