using System.Diagnostics;
using Enclave.Native.Interop;

namespace Enclave.Engine;

public sealed partial class InferenceEngine
{
    // Kept ordered by sequence id: llama.cpp puts consecutive ids in one ubatch.
    private readonly List<Sequence> _running = [];
    private readonly SortedSet<int> _freeSeqIds = [];

    private void RunLoop()
    {
        try
        {
            for (var i = 0; i < _options.EffectiveSlots; i++)
            {
                _freeSeqIds.Add(i);
            }

            LlamaBatch? batch = _context is null ? null : new LlamaBatch(_options.BatchSize, _options.EffectiveSlots);
            try
            {
                while (!_stopping.IsCancellationRequested)
                {
                    _work.Reset();
                    RunEmbeddingJobs();
                    Admit();
                    SweepCancelled();
                    if (_running.Count == 0)
                    {
                        if (_queue.Count == 0 && _embeddingQueue.Reader.Count == 0)
                        {
                            _work.Wait(_stopping.Token);
                        }

                        continue;
                    }

                    Step(batch!);
                }
            }
            finally
            {
                batch?.Dispose();
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // The loop owns the context; on a bug it must fail every stream, not hang them.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogLoopCrashed(_logger, ex);
            foreach (var seq in _running)
            {
                seq.Output.TryWrite(new GenerationFailed("engine_error", "The inference engine stopped unexpectedly."));
                seq.Output.TryComplete();
            }

            Environment.FailFast("Decode loop crashed: " + ex.Message, ex);
        }

        foreach (var seq in _running.ToArray())
        {
            Finish(seq, new GenerationFailed("shutting_down", "The model is shutting down."));
        }

        while (_queue.TryDequeue(out var pending))
        {
            pending.Output.Writer.TryWrite(new GenerationFailed("shutting_down", "The model is shutting down."));
            pending.Output.Writer.TryComplete();
        }
    }

    private void Admit()
    {
        while (_freeSeqIds.Count > 0 && _queue.TryDequeue(out var pending))
        {
            // Cancelled between leaving the queue's lock and now: the queue's own callback no longer sees it.
            if (pending.Cancellation.IsCancellationRequested)
            {
                pending.Output.Writer.TryComplete();
                continue;
            }

            var request = pending.Request;
            var room = ContextPerSequence - request.PromptTokens.Length;
            var limit = _options.MaxTokensLimit > 0 ? Math.Min(room, _options.MaxTokensLimit) : room;
            var maxTokens = Math.Min(request.MaxTokens ?? limit, limit);
            var sampler = SamplerChain.Create(request.Sampling, Model.VocabSize, request.PromptTokens);
            var seqId = _freeSeqIds.Min;
            _freeSeqIds.Remove(seqId);
            LlamaNative.llama_memory_seq_rm(LlamaNative.llama_get_memory(_context!.DangerousGetHandle()), seqId, -1, -1);
            var at = _running.FindIndex(s => s.SeqId > seqId);
            _running.Insert(at < 0 ? _running.Count : at, new Sequence(seqId, pending, sampler, maxTokens));
            Interlocked.Increment(ref _active);
        }
    }

    private void SweepCancelled()
    {
        for (var i = _running.Count - 1; i >= 0; i--)
        {
            var seq = _running[i];
            if (seq.Cancellation.IsCancellationRequested)
            {
                Finish(seq, seq.Finished(FinishReason.Cancelled));
            }
        }
    }

    private void Step(LlamaBatch batch)
    {
        batch.Clear();

        // Every decoding sequence gets its next token in every step; prompts are prefilled in chunks from what
        // is left, so one long prompt never stalls running streams. Tokens go in sequence-id order.
        var prefillRoom = batch.Capacity - _running.Count(seq => !seq.IsPrefilling);
        foreach (var seq in _running)
        {
            seq.OutputIndex = -1;
            seq.StepPrefill = 0;
            if (!seq.IsPrefilling)
            {
                seq.OutputIndex = batch.Add(seq.LastToken, seq.NPast, seq.SeqId, output: true);
                continue;
            }

            var take = Math.Min(Math.Min(prefillRoom, _options.PrefillChunk), seq.Prompt.Length - seq.PrefillPos);
            prefillRoom -= take;
            seq.StepPrefill = take;
            for (var k = 0; k < take; k++)
            {
                var last = seq.PrefillPos + k == seq.Prompt.Length - 1;
                var index = batch.Add(seq.Prompt[seq.PrefillPos + k], seq.PrefillPos + k, seq.SeqId, output: last);
                if (last)
                {
                    seq.OutputIndex = index;
                }
            }
        }

        if (batch.Count == 0)
        {
            return;
        }

        var rc = batch.Decode(_context!);
        Interlocked.Increment(ref _steps);
        if (rc != 0)
        {
            LogDecodeFailed(_logger, rc, _running.Count);
            foreach (var seq in _running.ToArray())
            {
                Finish(seq, new GenerationFailed("engine_error", $"The inference engine failed to decode (llama_decode returned {rc})."));
            }

            return;
        }

        var ctx = _context!.DangerousGetHandle();
        foreach (var seq in _running.ToArray())
        {
            if (seq.IsPrefilling)
            {
                seq.PrefillPos += seq.StepPrefill;
                seq.NPast = seq.PrefillPos;
                Interlocked.Add(ref _promptTokens, seq.StepPrefill);
            }
            else
            {
                seq.NPast++;
            }

            if (seq.OutputIndex < 0)
            {
                continue;
            }

            var token = LlamaNative.llama_sampler_sample(seq.Sampler.DangerousGetHandle(), ctx, seq.OutputIndex);
            OnToken(seq, token);
        }

        Interlocked.Exchange(ref _kvUsed, _running.Sum(s => (long)s.NPast));
    }

    private void OnToken(Sequence seq, int token)
    {
        if (seq.Generated == 0)
        {
            seq.TimeToFirstToken = Stopwatch.GetElapsedTime(seq.StartTimestamp);
        }

        if (Model.IsEndOfGeneration(token))
        {
            Complete(seq, FinishReason.Stop);
            return;
        }

        seq.Generated++;
        seq.LastToken = token;
        Interlocked.Increment(ref _generatedTokens);
        var text = seq.Stops.Push(seq.DecodePiece(Model, token));
        if (text.Length > 0)
        {
            seq.Output.TryWrite(new TextDelta(text));
        }

        if (seq.Stops.Stopped)
        {
            Complete(seq, FinishReason.Stop);
        }
        else if (seq.Generated >= seq.MaxTokens || seq.NPast + 1 >= ContextPerSequence)
        {
            Complete(seq, FinishReason.Length);
        }
    }

    private void Complete(Sequence seq, FinishReason reason)
    {
        var rest = seq.Stops.Flush();
        if (rest.Length > 0)
        {
            seq.Output.TryWrite(new TextDelta(rest));
        }

        Finish(seq, seq.Finished(reason));
    }

    /// <summary>Ends a sequence: last event, KV cells and slot freed, sampler released.</summary>
    private void Finish(Sequence seq, GenerationEvent last)
    {
        seq.Output.TryWrite(last);
        seq.Output.TryComplete();
        LlamaNative.llama_memory_seq_rm(LlamaNative.llama_get_memory(_context!.DangerousGetHandle()), seq.SeqId, -1, -1);
        _running.Remove(seq);
        _freeSeqIds.Add(seq.SeqId);
        seq.Dispose();
        Interlocked.Decrement(ref _active);
        Interlocked.Exchange(ref _kvUsed, _running.Sum(s => (long)s.NPast));
    }
}
