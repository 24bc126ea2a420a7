using Enclave.Native.Interop;

namespace Enclave.Native;

/// <summary>
/// Start-up self-check: llama.cpp returns its default parameter structs by value; if our struct layout differs
/// from the library's (another llama.cpp version), fields land at the wrong offsets and these known defaults do
/// not read back. Failing here is far better than passing garbage parameters to a model load.
/// </summary>
internal static class LlamaLayoutCheck
{
    internal static void Verify()
    {
        var problems = FindProblems(LlamaNative.llama_context_default_params(), LlamaNative.llama_model_default_params());
        if (problems.Count > 0)
        {
            throw new LlamaException(
                "The loaded llama.cpp library does not match the struct layouts Enclave was built for (llama.cpp v0.5.0): "
                + string.Join("; ", problems)
                + $". Use the bundled library or a build of the same release in {LlamaLibrary.LibDirVariable}.");
        }
    }

    /// <summary>Compares default parameter structs, as read through our layout, with llama.cpp's documented defaults.</summary>
    internal static List<string> FindProblems(LlamaContextParams c, LlamaModelParams m)
    {
        var problems = new List<string>();
        Expect(problems, "llama_context_params.n_ctx", c.NCtx, 512u);
        Expect(problems, "llama_context_params.n_batch", c.NBatch, 2048u);
        Expect(problems, "llama_context_params.n_ubatch", c.NUbatch, 512u);
        Expect(problems, "llama_context_params.n_seq_max", c.NSeqMax, 1u);
        Expect(problems, "llama_context_params.n_outputs_max_per_seq", c.NOutputsMaxPerSeq, 1u);
        Expect(problems, "llama_context_params.pooling_type", c.PoolingType, -1);
        Expect(problems, "llama_context_params.flash_attn_type", c.FlashAttnType, -1);
        Expect(problems, "llama_context_params.yarn_ext_factor", c.YarnExtFactor, -1f);
        Expect(problems, "llama_context_params.defrag_thold", c.DefragThold, -1f);
        Expect(problems, "llama_context_params.type_k", c.TypeK, 1);
        Expect(problems, "llama_context_params.type_v", c.TypeV, 1);
        Expect(problems, "llama_context_params.embeddings", c.Embeddings, (byte)0);
        Expect(problems, "llama_context_params.offload_kqv", c.OffloadKqv, (byte)1);
        Expect(problems, "llama_context_params.no_perf", c.NoPerf, (byte)1);
        Expect(problems, "llama_context_params.swa_full", c.SwaFull, (byte)1);
        Expect(problems, "llama_context_params.kv_unified", c.KvUnified, (byte)0);
        Expect(problems, "llama_context_params.n_samplers", c.NSamplers, (nuint)0);
        Expect(problems, "llama_context_params.ctx_other", c.CtxOther, IntPtr.Zero);

        Expect(problems, "llama_model_params.n_gpu_layers", m.NGpuLayers, -1);
        Expect(problems, "llama_model_params.split_mode", m.SplitMode, 1);
        Expect(problems, "llama_model_params.load_mode", m.LoadMode, -1);
        Expect(problems, "llama_model_params.lazy_mode", m.LazyMode, 1);
        Expect(problems, "llama_model_params.vocab_only", m.VocabOnly, (byte)0);
        Expect(problems, "llama_model_params.use_extra_bufts", m.UseExtraBufts, (byte)1);
        Expect(problems, "llama_model_params.load_mtp", m.LoadMtp, (byte)0);
        return problems;
    }

    private static void Expect<T>(List<string> problems, string field, T actual, T expected)
        where T : IEquatable<T>
    {
        if (!actual.Equals(expected))
        {
            problems.Add($"{field} read {actual}, expected {expected}");
        }
    }
}
