using System.Diagnostics;
using Enclave.Engine;
using Enclave.Native.Interop;

namespace Enclave.Bench;

/// <summary>
/// The ceiling for batching on this machine: a bare llama.cpp loop with no engine around it. It prefills C
/// prompts, then decodes C sequences together, one <c>llama_decode</c> of C tokens per step plus greedy
/// sampling, with the same context settings as the engine. Whatever the engine's aggregate@8 / aggregate@1
/// ratio is, it cannot beat this one by much: it is what llama.cpp's CPU kernels give for batches of C tokens.
/// </summary>
internal static unsafe class LlamaLoopReference
{
    public static IReadOnlyList<LoopResult> Measure(InferenceEngine engine, Prompts prompts, IReadOnlyList<int> levels, int steps)
    {
        var p = LlamaNative.llama_context_default_params();
        p.NCtx = (uint)(engine.ContextPerSequence * engine.Slots);
        p.NSeqMax = (uint)engine.Slots;
        p.NBatch = 512;
        p.NUbatch = 512;
        p.NThreads = engine.Threads;
        p.NThreadsBatch = engine.Threads;
        p.KvUnified = 0; // as the engine: one KV stream per sequence
        p.NoPerf = 1;
        using var context = SafeLlamaContextHandle.Create(engine.Model.Handle, p);
        var ctx = context.DangerousGetHandle();
        var batch = LlamaNative.llama_batch_init(512, 0, engine.Slots);
        try
        {
            var results = new List<LoopResult>();
            foreach (var level in levels.Where(l => l <= engine.Slots))
            {
                RunLevel(ctx, ref batch, prompts, level, Math.Min(8, steps)); // warm-up
                results.Add(new LoopResult(level, steps, RunLevel(ctx, ref batch, prompts, level, steps)));
            }

            return results;
        }
        finally
        {
            LlamaNative.llama_batch_free(batch);
        }
    }

    private static TimeSpan RunLevel(IntPtr ctx, ref LlamaBatchNative batch, Prompts prompts, int level, int steps)
    {
        LlamaNative.llama_memory_clear(LlamaNative.llama_get_memory(ctx), true);
        var samplers = new IntPtr[level];
        var positions = new int[level];
        var last = new int[level];
        try
        {
            for (var s = 0; s < level; s++)
            {
                samplers[s] = LlamaNative.llama_sampler_chain_init(LlamaNative.llama_sampler_chain_default_params());
                LlamaNative.llama_sampler_chain_add(samplers[s], LlamaNative.llama_sampler_init_greedy());
                var tokens = prompts.Streams[s].Tokens;
                batch.NTokens = 0;
                for (var i = 0; i < tokens.Length; i++)
                {
                    Add(ref batch, tokens[i], i, s, i == tokens.Length - 1);
                }

                Check(LlamaNative.llama_decode(ctx, batch));
                last[s] = LlamaNative.llama_sampler_sample(samplers[s], ctx, batch.NTokens - 1);
                positions[s] = tokens.Length;
            }

            var start = Stopwatch.GetTimestamp();
            for (var step = 0; step < steps; step++)
            {
                batch.NTokens = 0;
                for (var s = 0; s < level; s++)
                {
                    Add(ref batch, last[s], positions[s]++, s, output: true);
                }

                Check(LlamaNative.llama_decode(ctx, batch));
                for (var s = 0; s < level; s++)
                {
                    last[s] = LlamaNative.llama_sampler_sample(samplers[s], ctx, s);
                }
            }

            return Stopwatch.GetElapsedTime(start);
        }
        finally
        {
            foreach (var sampler in samplers.Where(x => x != IntPtr.Zero))
            {
                LlamaNative.llama_sampler_free(sampler);
            }
        }
    }

    private static void Add(ref LlamaBatchNative batch, int token, int position, int seq, bool output)
    {
        var i = batch.NTokens++;
        batch.Token[i] = token;
        batch.Pos[i] = position;
        batch.NSeqId[i] = 1;
        batch.SeqId[i][0] = seq;
        batch.Logits[i] = output ? (sbyte)1 : (sbyte)0;
    }

    private static void Check(int rc)
    {
        if (rc != 0)
        {
            throw new BenchException($"llama_decode returned {rc} in the llama.cpp reference loop.");
        }
    }
}

/// <summary>One level of the bare llama.cpp loop: <see cref="Concurrency"/> sequences decoded together.</summary>
internal sealed record LoopResult(int Concurrency, int Steps, TimeSpan DecodeTime)
{
    /// <summary>Decoded tokens per second over all sequences (prefill excluded).</summary>
    public double AggregateRate => Concurrency * Steps / DecodeTime.TotalSeconds;

    public double MsPerStep => DecodeTime.TotalMilliseconds / Steps;
}
