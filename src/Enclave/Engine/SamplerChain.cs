using Enclave.Native.Interop;

namespace Enclave.Engine;

/// <summary>Builds one llama.cpp sampler chain per sequence from <see cref="SamplingOptions"/>.</summary>
internal static class SamplerChain
{
    public static SafeLlamaSamplerHandle Create(SamplingOptions options, int vocabSize, IReadOnlyList<int> prompt)
    {
        var chainParams = LlamaNative.llama_sampler_chain_default_params();
        chainParams.NoPerf = 1;
        var chain = SafeLlamaSamplerHandle.FromPointer(LlamaNative.llama_sampler_chain_init(chainParams));
        var handle = chain.DangerousGetHandle();
        var penalised = options.RepetitionPenalty != 1f || options.FrequencyPenalty != 0f || options.PresencePenalty != 0f;
        if (penalised)
        {
            LlamaNative.llama_sampler_chain_add(handle, LlamaNative.llama_sampler_init_penalties(
                vocabSize, options.PenaltyLastN, options.RepetitionPenalty, options.FrequencyPenalty, options.PresencePenalty));
        }

        if (options.Temperature <= 0f)
        {
            LlamaNative.llama_sampler_chain_add(handle, LlamaNative.llama_sampler_init_greedy());
        }
        else
        {
            if (options.TopK > 0)
            {
                LlamaNative.llama_sampler_chain_add(handle, LlamaNative.llama_sampler_init_top_k(options.TopK));
            }

            if (options.TopP < 1f)
            {
                LlamaNative.llama_sampler_chain_add(handle, LlamaNative.llama_sampler_init_top_p(options.TopP, 1));
            }

            if (options.MinP > 0f)
            {
                LlamaNative.llama_sampler_chain_add(handle, LlamaNative.llama_sampler_init_min_p(options.MinP, 1));
            }

            LlamaNative.llama_sampler_chain_add(handle, LlamaNative.llama_sampler_init_temp(options.Temperature));
            var seed = options.Seed ?? (uint)System.Security.Cryptography.RandomNumberGenerator.GetInt32(int.MaxValue);
            LlamaNative.llama_sampler_chain_add(handle, LlamaNative.llama_sampler_init_dist(seed));
        }

        if (penalised)
        {
            // The penalties look at recent tokens, the prompt included (as llama-server does).
            var from = Math.Max(0, prompt.Count - options.PenaltyLastN);
            for (var i = from; i < prompt.Count; i++)
            {
                LlamaNative.llama_sampler_accept(handle, prompt[i]);
            }
        }

        return chain;
    }
}
