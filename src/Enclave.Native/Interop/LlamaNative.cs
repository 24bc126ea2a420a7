using System.Runtime.InteropServices;

namespace Enclave.Native.Interop;

/// <summary>
/// P/Invoke declarations for libllama and libggml (llama.cpp v0.5.0). C names are kept so they grep against
/// <c>include/llama.h</c>. Library names are resolved by <see cref="LlamaLibrary"/>; call its
/// <c>Initialize</c> before any of these.
/// </summary>
internal static unsafe partial class LlamaNative
{
    internal const string Llama = "llama";
    internal const string Ggml = "ggml";

    // ---- backend and lifecycle ------------------------------------------------------------------

    /// <summary>Loads every ggml backend found in <paramref name="dirPath"/> (picks the best CPU variant).</summary>
    [LibraryImport(Ggml, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void ggml_backend_load_all_from_path(string dirPath);

    [LibraryImport(Ggml)]
    internal static partial nuint ggml_backend_reg_count();

    [LibraryImport(Ggml)]
    internal static partial IntPtr ggml_backend_reg_get(nuint index);

    [LibraryImport(Ggml)]
    internal static partial IntPtr ggml_backend_reg_name(IntPtr reg);

    [LibraryImport(Llama)]
    internal static partial void llama_backend_init();

    [LibraryImport(Llama)]
    internal static partial IntPtr llama_print_system_info();

    [LibraryImport(Llama)]
    internal static partial LlamaModelParams llama_model_default_params();

    [LibraryImport(Llama)]
    internal static partial LlamaContextParams llama_context_default_params();

    [LibraryImport(Llama)]
    internal static partial LlamaSamplerChainParams llama_sampler_chain_default_params();

    /// <summary>Returns NULL when the file cannot be loaded (the reason goes to the log callback).</summary>
    [LibraryImport(Llama, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr llama_model_load_from_file(string pathModel, LlamaModelParams parameters);

    [LibraryImport(Llama)]
    internal static partial void llama_model_free(IntPtr model);

    /// <summary>Returns NULL on failure (for example not enough memory for the KV cache).</summary>
    [LibraryImport(Llama)]
    internal static partial IntPtr llama_init_from_model(IntPtr model, LlamaContextParams parameters);

    [LibraryImport(Llama)]
    internal static partial void llama_free(IntPtr ctx);

    // ---- logging --------------------------------------------------------------------------------

    [LibraryImport(Llama)]
    internal static partial void llama_log_set(delegate* unmanaged<int, IntPtr, IntPtr, void> callback, IntPtr userData);

    [LibraryImport(Ggml)]
    internal static partial void ggml_log_set(delegate* unmanaged<int, IntPtr, IntPtr, void> callback, IntPtr userData);

    // ---- model and vocabulary -------------------------------------------------------------------

    [LibraryImport(Llama)]
    internal static partial IntPtr llama_model_get_vocab(IntPtr model);

    [LibraryImport(Llama)]
    internal static partial int llama_model_n_ctx_train(IntPtr model);

    [LibraryImport(Llama)]
    internal static partial int llama_model_n_embd(IntPtr model);

    [LibraryImport(Llama)]
    internal static partial int llama_model_n_layer(IntPtr model);

    [LibraryImport(Llama)]
    internal static partial ulong llama_model_n_params(IntPtr model);

    [LibraryImport(Llama)]
    internal static partial ulong llama_model_size(IntPtr model);

    /// <summary>Returns the number of bytes written (without NUL), or a negative value on failure.</summary>
    [LibraryImport(Llama)]
    internal static partial int llama_model_desc(IntPtr model, byte* buf, nuint bufSize);

    /// <summary>Returns NULL when the GGUF has no chat template under that name.</summary>
    [LibraryImport(Llama)]
    internal static partial IntPtr llama_model_chat_template(IntPtr model, IntPtr name);

    [LibraryImport(Llama)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool llama_model_has_encoder(IntPtr model);

    [LibraryImport(Llama)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool llama_model_has_decoder(IntPtr model);

    /// <summary>Writes the metadata value as a NUL-terminated string; returns its length, or -1 when the key is absent.</summary>
    [LibraryImport(Llama, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int llama_model_meta_val_str(IntPtr model, string key, byte* buf, nuint bufSize);

    [LibraryImport(Llama)]
    internal static partial int llama_vocab_n_tokens(IntPtr vocab);

    [LibraryImport(Llama)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool llama_vocab_is_eog(IntPtr vocab, int token);

    /// <summary><c>enum llama_token_attr</c> flags of a token (CONTROL = 1 &lt;&lt; 3, USER_DEFINED = 1 &lt;&lt; 4).</summary>
    [LibraryImport(Llama)]
    internal static partial int llama_vocab_get_attr(IntPtr vocab, int token);

    /// <summary>
    /// Returns the token count, or the negated count needed when <paramref name="nTokensMax"/> is too small,
    /// or <c>int.MinValue</c> on overflow.
    /// </summary>
    [LibraryImport(Llama)]
    internal static partial int llama_tokenize(IntPtr vocab, byte* text, int textLen, int* tokens, int nTokensMax,
        [MarshalAs(UnmanagedType.U1)] bool addSpecial, [MarshalAs(UnmanagedType.U1)] bool parseSpecial);

    /// <summary>Returns bytes written, or the negated size needed when the buffer is too small.</summary>
    [LibraryImport(Llama)]
    internal static partial int llama_token_to_piece(IntPtr vocab, int token, byte* buf, int length, int lstrip,
        [MarshalAs(UnmanagedType.U1)] bool special);

    /// <summary>Returns the formatted length in bytes (re-call with a larger buffer if longer), or -1 when the template is not supported.</summary>
    [LibraryImport(Llama)]
    internal static partial int llama_chat_apply_template(byte* tmpl, LlamaChatMessage* chat, nuint nMsg,
        [MarshalAs(UnmanagedType.U1)] bool addAss, byte* buf, int length);

    // ---- context, memory, decode ----------------------------------------------------------------

    [LibraryImport(Llama)]
    internal static partial uint llama_n_ctx(IntPtr ctx);

    [LibraryImport(Llama)]
    internal static partial uint llama_n_ctx_seq(IntPtr ctx);

    [LibraryImport(Llama)]
    internal static partial uint llama_n_batch(IntPtr ctx);

    [LibraryImport(Llama)]
    internal static partial uint llama_n_seq_max(IntPtr ctx);

    [LibraryImport(Llama)]
    internal static partial int llama_pooling_type(IntPtr ctx);

    [LibraryImport(Llama)]
    internal static partial IntPtr llama_get_memory(IntPtr ctx);

    [LibraryImport(Llama)]
    internal static partial void llama_memory_clear(IntPtr mem, [MarshalAs(UnmanagedType.U1)] bool data);

    /// <summary>Removes positions [p0, p1) of a sequence (-1 = open end); false only for partial removal on recurrent memory.</summary>
    [LibraryImport(Llama)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool llama_memory_seq_rm(IntPtr mem, int seqId, int p0, int p1);

    /// <summary>Largest position of the sequence in memory, or -1 when it is empty.</summary>
    [LibraryImport(Llama)]
    internal static partial int llama_memory_seq_pos_max(IntPtr mem, int seqId);

    [LibraryImport(Llama)]
    internal static partial LlamaBatchNative llama_batch_init(int nTokens, int embd, int nSeqMax);

    [LibraryImport(Llama)]
    internal static partial void llama_batch_free(LlamaBatchNative batch);

    /// <summary>0 ok; 1 no KV slot for the batch; 2 aborted; -1 invalid batch; &lt; -1 fatal.</summary>
    [LibraryImport(Llama)]
    internal static partial int llama_decode(IntPtr ctx, LlamaBatchNative batch);

    [LibraryImport(Llama)]
    internal static partial void llama_set_abort_callback(IntPtr ctx, delegate* unmanaged<IntPtr, byte> callback, IntPtr data);

    [LibraryImport(Llama)]
    internal static partial float* llama_get_embeddings_seq(IntPtr ctx, int seqId);

    [LibraryImport(Llama)]
    internal static partial float* llama_get_embeddings_ith(IntPtr ctx, int i);

    // ---- sampling -------------------------------------------------------------------------------

    [LibraryImport(Llama)]
    internal static partial IntPtr llama_sampler_chain_init(LlamaSamplerChainParams parameters);

    /// <summary>The chain takes ownership of <paramref name="smpl"/>.</summary>
    [LibraryImport(Llama)]
    internal static partial void llama_sampler_chain_add(IntPtr chain, IntPtr smpl);

    [LibraryImport(Llama)]
    internal static partial void llama_sampler_free(IntPtr smpl);

    [LibraryImport(Llama)]
    internal static partial void llama_sampler_accept(IntPtr smpl, int token);

    /// <summary>Samples from the logits of output <paramref name="idx"/> and accepts the token into the chain.</summary>
    [LibraryImport(Llama)]
    internal static partial int llama_sampler_sample(IntPtr smpl, IntPtr ctx, int idx);

    [LibraryImport(Llama)]
    internal static partial IntPtr llama_sampler_init_greedy();

    [LibraryImport(Llama)]
    internal static partial IntPtr llama_sampler_init_dist(uint seed);

    [LibraryImport(Llama)]
    internal static partial IntPtr llama_sampler_init_top_k(int k);

    [LibraryImport(Llama)]
    internal static partial IntPtr llama_sampler_init_top_p(float p, nuint minKeep);

    [LibraryImport(Llama)]
    internal static partial IntPtr llama_sampler_init_min_p(float p, nuint minKeep);

    [LibraryImport(Llama)]
    internal static partial IntPtr llama_sampler_init_temp(float t);

    [LibraryImport(Llama)]
    internal static partial IntPtr llama_sampler_init_penalties(int nVocab, int penaltyLastN, float penaltyRepeat, float penaltyFreq, float penaltyPresent);
}
