using Enclave.Native.Interop;

namespace Enclave.Engine;

/// <summary>A reusable <c>llama_batch</c> owned by the decode loop. Not thread-safe.</summary>
internal sealed unsafe class LlamaBatch : IDisposable
{
    private LlamaBatchNative _batch;

    public LlamaBatch(int capacity, int maxSeqPerToken)
    {
        Capacity = capacity;
        _batch = LlamaNative.llama_batch_init(capacity, 0, maxSeqPerToken);
    }

    public int Capacity { get; }

    public int Count => _batch.NTokens;

    public void Clear() => _batch.NTokens = 0;

    /// <summary>Adds one token of one sequence; returns its row index.</summary>
    public int Add(int token, int position, int seqId, bool output)
    {
        var i = _batch.NTokens;
        if (i >= Capacity)
        {
            throw new InvalidOperationException("Batch is full.");
        }

        _batch.Token[i] = token;
        _batch.Pos[i] = position;
        _batch.NSeqId[i] = 1;
        _batch.SeqId[i][0] = seqId;
        _batch.Logits[i] = output ? (sbyte)1 : (sbyte)0;
        _batch.NTokens = i + 1;
        return i;
    }

    /// <summary>Runs llama_decode: 0 ok, 1 no KV slot, 2 aborted, negative error.</summary>
    public int Decode(SafeLlamaContextHandle context) => LlamaNative.llama_decode(context.DangerousGetHandle(), _batch);

    public void Dispose()
    {
        if (_batch.Token != null)
        {
            LlamaNative.llama_batch_free(_batch);
            _batch = default;
        }
    }
}
