using System.Runtime.InteropServices;
using System.Text;
using Enclave.Native.Interop;

namespace Enclave.Native;

/// <summary>
/// A loaded GGUF model (weights and vocabulary). Tokenization and template rendering are thread-safe;
/// contexts created from it hold a reference, so disposing the model while a context lives is safe.
/// </summary>
public sealed class LlamaModel : IDisposable
{
    private readonly SafeLlamaModelHandle _handle;
    private readonly Lazy<string[]> _specialTexts;

    private LlamaModel(SafeLlamaModelHandle handle, string path)
    {
        _handle = handle;
        _specialTexts = new Lazy<string[]>(ReadSpecialTexts, LazyThreadSafetyMode.ExecutionAndPublication);
        Path = path;
        var model = handle.DangerousGetHandle();
        Vocab = LlamaNative.llama_model_get_vocab(model);
        VocabSize = LlamaNative.llama_vocab_n_tokens(Vocab);
        TrainContextLength = LlamaNative.llama_model_n_ctx_train(model);
        EmbeddingLength = LlamaNative.llama_model_n_embd(model);
        ParameterCount = LlamaNative.llama_model_n_params(model);
        SizeBytes = LlamaNative.llama_model_size(model);
        ChatTemplate = Marshal.PtrToStringUTF8(LlamaNative.llama_model_chat_template(model, IntPtr.Zero));
        Description = ReadDescription(model);
        Architecture = ReadMetadata(model, "general.architecture") ?? "";
        PoolingType = ReadMetadata(model, Architecture + ".pooling_type");
    }

    /// <summary><c>general.architecture</c>, e.g. "llama" or "bert".</summary>
    public string Architecture { get; }

    /// <summary>The pooling type stored for embedding models (<c>{arch}.pooling_type</c>), or null.</summary>
    public string? PoolingType { get; }

    /// <summary>True for encoder-only embedding models (BERT family) that cannot generate text.</summary>
    public bool IsEmbeddingOnly => Architecture is "bert" or "nomic-bert" or "nomic-bert-moe" or "jina-bert-v2" or "jina-bert-v3"
        or "modern-bert" or "neo-bert" or "eurobert" or "t5encoder";

    /// <summary>Reads one metadata value as text, or null when absent.</summary>
    public string? GetMetadata(string key) => ReadMetadata(_handle.DangerousGetHandle(), key);

    private static unsafe string? ReadMetadata(IntPtr model, string key)
    {
        var buffer = new byte[4096];
        fixed (byte* b = buffer)
        {
            var n = LlamaNative.llama_model_meta_val_str(model, key, b, (nuint)buffer.Length);
            return n < 0 ? null : Encoding.UTF8.GetString(buffer, 0, Math.Min(n, buffer.Length - 1));
        }
    }

    public string Path { get; }

    public int VocabSize { get; }

    public int TrainContextLength { get; }

    public int EmbeddingLength { get; }

    public ulong ParameterCount { get; }

    public ulong SizeBytes { get; }

    /// <summary>The Jinja chat template stored in the GGUF, or null.</summary>
    public string? ChatTemplate { get; }

    /// <summary>llama.cpp's one-line description, e.g. "llama ?B all F32".</summary>
    public string Description { get; }

    internal IntPtr Vocab { get; }

    internal SafeLlamaModelHandle Handle => _handle;

    /// <summary>Loads weights on the CPU (no GPU layers unless <paramref name="gpuLayers"/> says so).</summary>
    public static LlamaModel Load(string path, int gpuLayers = 0)
    {
        LlamaLibrary.Initialize();
        if (!File.Exists(path))
        {
            throw new LlamaException($"Model file '{path}' does not exist.");
        }

        var parameters = LlamaNative.llama_model_default_params();
        parameters.NGpuLayers = gpuLayers;
        var pointer = LlamaNative.llama_model_load_from_file(path, parameters);
        if (pointer == IntPtr.Zero)
        {
            throw new LlamaException($"llama.cpp could not load '{path}' (see the llama.cpp log lines above for the reason).");
        }

        return new LlamaModel(SafeLlamaModelHandle.FromPointer(pointer), path);
    }

    /// <summary>Tokenizes UTF-8 text. <paramref name="addSpecial"/> adds BOS/EOS as the vocabulary asks.</summary>
    public unsafe int[] Tokenize(string text, bool addSpecial, bool parseSpecial)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var capacity = bytes.Length + 8;
        while (true)
        {
            var tokens = new int[capacity];
            int n;
            fixed (byte* t = bytes)
            fixed (int* o = tokens)
            {
                n = LlamaNative.llama_tokenize(Vocab, t, bytes.Length, o, capacity, addSpecial, parseSpecial);
            }

            if (n == int.MinValue)
            {
                throw new LlamaException("Tokenization overflowed: the text is too long.");
            }

            if (n >= 0)
            {
                return tokens.AsSpan(0, n).ToArray();
            }

            capacity = -n;
        }
    }

    /// <summary>Appends the UTF-8 bytes of one token to <paramref name="output"/> (special tokens are not rendered).</summary>
    public unsafe void AppendPiece(int token, List<byte> output)
    {
        Span<byte> buffer = stackalloc byte[256];
        int n;
        fixed (byte* b = buffer)
        {
            n = LlamaNative.llama_token_to_piece(Vocab, token, b, buffer.Length, 0, false);
        }

        if (n < 0)
        {
            var large = new byte[-n];
            fixed (byte* b = large)
            {
                n = LlamaNative.llama_token_to_piece(Vocab, token, b, large.Length, 0, false);
            }

            output.AddRange(large.AsSpan(0, n));
            return;
        }

        output.AddRange(buffer[..n]);
    }

    /// <summary>
    /// Texts that parse as control or user-defined tokens when special parsing is on (for example
    /// <c>&lt;|im_start|&gt;</c> or <c>&lt;/s&gt;</c>), computed once. Thread-safe.
    /// </summary>
    public IReadOnlyList<string> SpecialTokenTexts => _specialTexts.Value;

    private unsafe string[] ReadSpecialTexts()
    {
        const int control = 1 << 3;
        const int userDefined = 1 << 4;
        var texts = new HashSet<string>(StringComparer.Ordinal);
        Span<byte> buffer = stackalloc byte[256];
        for (var token = 0; token < VocabSize; token++)
        {
            if ((LlamaNative.llama_vocab_get_attr(Vocab, token) & (control | userDefined)) == 0)
            {
                continue;
            }

            fixed (byte* b = buffer)
            {
                var n = LlamaNative.llama_token_to_piece(Vocab, token, b, buffer.Length, 0, true);
                if (n > 0)
                {
                    texts.Add(Encoding.UTF8.GetString(buffer[..n]));
                }
            }
        }

        return [.. texts.Where(t => t.Trim().Length > 0)];
    }

    /// <summary>True when the token ends generation (EOS, EOT, ...).</summary>
    public bool IsEndOfGeneration(int token) => LlamaNative.llama_vocab_is_eog(Vocab, token);

    /// <summary>
    /// Renders chat messages with <paramref name="template"/> (a stored Jinja template that llama.cpp recognises,
    /// or a built-in name such as "chatml"). Returns null when llama.cpp does not support the template.
    /// </summary>
    public static unsafe string? ApplyChatTemplate(string template, IReadOnlyList<(string Role, string Content)> messages, bool addAssistant)
    {
        var handles = new List<GCHandle>();
        try
        {
            var native = new LlamaChatMessage[messages.Count];
            var totalLength = 0;
            for (var i = 0; i < messages.Count; i++)
            {
                native[i].Role = Pin(Utf8Z(messages[i].Role), handles);
                var content = Utf8Z(messages[i].Content);
                totalLength += content.Length + messages[i].Role.Length;
                native[i].Content = Pin(content, handles);
            }

            var templateBytes = Utf8Z(template);
            var capacity = Math.Max(256, totalLength * 2 + 256);
            while (true)
            {
                var buffer = new byte[capacity];
                int n;
                fixed (byte* t = templateBytes)
                fixed (LlamaChatMessage* m = native)
                fixed (byte* b = buffer)
                {
                    n = LlamaNative.llama_chat_apply_template(t, m, (nuint)native.Length, addAssistant, b, capacity);
                }

                if (n < 0)
                {
                    return null;
                }

                if (n <= capacity)
                {
                    return Encoding.UTF8.GetString(buffer, 0, n);
                }

                capacity = n;
            }
        }
        finally
        {
            foreach (var h in handles)
            {
                h.Free();
            }
        }
    }

    public void Dispose() => _handle.Dispose();

    private static byte[] Utf8Z(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    private static IntPtr Pin(byte[] bytes, List<GCHandle> handles)
    {
        var h = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        handles.Add(h);
        return h.AddrOfPinnedObject();
    }

    private static unsafe string ReadDescription(IntPtr model)
    {
        Span<byte> buffer = stackalloc byte[256];
        fixed (byte* b = buffer)
        {
            var n = LlamaNative.llama_model_desc(model, b, (nuint)buffer.Length);
            return n > 0 ? Encoding.UTF8.GetString(buffer[..Math.Min(n, buffer.Length - 1)]) : "";
        }
    }
}
