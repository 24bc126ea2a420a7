using Enclave.Native.Interop;

namespace Enclave.Engine;

/// <summary>Outcome of an embedding request.</summary>
public sealed record EmbeddingOutcome(AdmissionStatus Status, IReadOnlyList<float[]> Vectors, int PromptTokens);

public sealed partial class InferenceEngine
{
    /// <summary>Tokens one embedding input may hold.</summary>
    public int EmbeddingContextSize => _embeddingContextSize;

    /// <summary>
    /// Embeds each input (L2-normalised). Encoder models use the pooling stored in the GGUF; decoder models are
    /// mean-pooled. Runs on the decode loop between steps, so it never races the generation context.
    /// </summary>
    public async Task<EmbeddingOutcome> EmbedAsync(IReadOnlyList<string> inputs, CancellationToken cancellationToken)
    {
        var tokenized = new List<int[]>(inputs.Count);
        foreach (var input in inputs)
        {
            var tokens = Tokenize(input);
            if (tokens.Length == 0 || tokens.Length > _embeddingContextSize)
            {
                return new EmbeddingOutcome(AdmissionStatus.ContextLengthExceeded, [], tokens.Length);
            }

            tokenized.Add(tokens);
        }

        var job = new EmbeddingJob(tokenized, cancellationToken);
        if (_stopping.IsCancellationRequested)
        {
            return new EmbeddingOutcome(AdmissionStatus.ShuttingDown, [], 0);
        }

        if (!_embeddingQueue.Writer.TryWrite(job))
        {
            return new EmbeddingOutcome(AdmissionStatus.QueueFull, [], 0);
        }

        _work.Set();
        var vectors = await job.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new EmbeddingOutcome(AdmissionStatus.Accepted, vectors, tokenized.Sum(t => t.Length));
    }

    private void RunEmbeddingJobs()
    {
        while (_embeddingQueue.Reader.TryRead(out var job))
        {
            if (job.Cancellation.IsCancellationRequested)
            {
                job.Completion.TrySetCanceled(job.Cancellation);
                continue;
            }

            try
            {
                job.Completion.TrySetResult(job.Inputs.Select(EmbedOne).ToArray());
            }
            catch (Exception ex) when (ex is Native.LlamaException or InvalidOperationException)
            {
                job.Completion.TrySetException(ex);
            }
        }
    }

    private unsafe float[] EmbedOne(int[] tokens)
    {
        var context = _embeddingContext.Value;
        var ctx = context.DangerousGetHandle();
        var memory = LlamaNative.llama_get_memory(ctx);
        if (memory != IntPtr.Zero)
        {
            LlamaNative.llama_memory_clear(memory, true);
        }

        using var batch = new LlamaBatch(tokens.Length, 1);
        for (var i = 0; i < tokens.Length; i++)
        {
            batch.Add(tokens[i], i, 0, output: true);
        }

        var rc = batch.Decode(context);
        if (rc != 0)
        {
            throw new Native.LlamaException($"llama.cpp failed to compute embeddings (llama_decode returned {rc}).");
        }

        var dim = Model.EmbeddingLength;
        var pointer = LlamaNative.llama_get_embeddings_seq(ctx, 0);
        if (pointer == null)
        {
            throw new Native.LlamaException("llama.cpp returned no pooled embedding for this model.");
        }

        var vector = new ReadOnlySpan<float>(pointer, dim).ToArray();
        var norm = MathF.Sqrt(vector.Sum(v => v * v));
        if (norm > 0)
        {
            for (var i = 0; i < vector.Length; i++)
            {
                vector[i] /= norm;
            }
        }

        return vector;
    }

    private sealed class EmbeddingJob(IReadOnlyList<int[]> inputs, CancellationToken cancellation)
    {
        public IReadOnlyList<int[]> Inputs { get; } = inputs;

        public CancellationToken Cancellation { get; } = cancellation;

        public TaskCompletionSource<float[][]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
