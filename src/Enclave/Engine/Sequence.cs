using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Enclave.Native.Interop;

namespace Enclave.Engine;

/// <summary>Decode-loop state of one admitted request. Owned by the loop thread only.</summary>
internal sealed class Sequence : IDisposable
{
    private readonly Decoder _utf8 = new UTF8Encoding(false, false).GetDecoder();
    private readonly List<byte> _pieceBytes = new(32);
    private readonly char[] _chars = new char[64];

    public Sequence(int seqId, PendingGeneration pending, SafeLlamaSamplerHandle sampler, int maxTokens)
    {
        SeqId = seqId;
        Pending = pending;
        Sampler = sampler;
        MaxTokens = maxTokens;
        Stops = new StopStringMatcher(pending.Request.Stop);
    }

    public int SeqId { get; }

    public PendingGeneration Pending { get; }

    public int[] Prompt => Pending.Request.PromptTokens;

    public SafeLlamaSamplerHandle Sampler { get; }

    public StopStringMatcher Stops { get; }

    public int MaxTokens { get; }

    /// <summary>Prompt tokens already submitted to llama_decode.</summary>
    public int PrefillPos { get; set; }

    /// <summary>Prompt tokens added to the current step's batch.</summary>
    public int StepPrefill { get; set; }

    /// <summary>Next position in this sequence's KV cache.</summary>
    public int NPast { get; set; }

    /// <summary>Last sampled token, to be decoded in the next step.</summary>
    public int LastToken { get; set; } = -1;

    /// <summary>Index of this sequence's output row in the current batch, or -1.</summary>
    public int OutputIndex { get; set; } = -1;

    public int Generated { get; set; }

    public bool IsPrefilling => PrefillPos < Prompt.Length;

    public long StartTimestamp { get; } = Stopwatch.GetTimestamp();

    public TimeSpan TimeToFirstToken { get; set; }

    /// <summary>Time between submission and admission to a slot.</summary>
    public TimeSpan QueueWait => Stopwatch.GetElapsedTime(Pending.EnqueuedTimestamp, StartTimestamp);

    /// <summary>The finished event for this sequence, with its counts and timings.</summary>
    public GenerationFinished Finished(FinishReason reason) =>
        new(reason, Prompt.Length, Generated, TimeToFirstToken, Stopwatch.GetElapsedTime(StartTimestamp), QueueWait);

    public ChannelWriter<GenerationEvent> Output => Pending.Output.Writer;

    public CancellationToken Cancellation => Pending.Cancellation;

    /// <summary>Turns a token's bytes into text, keeping an incomplete UTF-8 character for the next token.</summary>
    public string DecodePiece(Native.LlamaModel model, int token)
    {
        _pieceBytes.Clear();
        model.AppendPiece(token, _pieceBytes);
        if (_pieceBytes.Count == 0)
        {
            return "";
        }

        var bytes = _pieceBytes.ToArray();
        var sb = new StringBuilder();
        var byteIndex = 0;
        while (byteIndex < bytes.Length)
        {
            var take = Math.Min(bytes.Length - byteIndex, 32);
            _utf8.Convert(bytes, byteIndex, take, _chars, 0, _chars.Length, false, out var used, out var charsUsed, out _);
            sb.Append(_chars, 0, charsUsed);
            byteIndex += used;
        }

        return sb.ToString();
    }

    public void Dispose() => Sampler.Dispose();
}

/// <summary>A request waiting in the admission queue, with the channel its events go to.</summary>
internal sealed class PendingGeneration
{
    public PendingGeneration(GenerationRequest request, CancellationToken cancellation)
    {
        Request = request;
        Cancellation = cancellation;
    }

    public GenerationRequest Request { get; }

    public CancellationToken Cancellation { get; }

    /// <summary>Stopwatch timestamp of submission, for the time spent in the admission queue.</summary>
    public long EnqueuedTimestamp { get; } = Stopwatch.GetTimestamp();

    public Channel<GenerationEvent> Output { get; } = Channel.CreateUnbounded<GenerationEvent>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    /// <summary>This request's place in the <see cref="AdmissionQueue"/> while it waits; guarded by the queue's lock.</summary>
    public LinkedListNode<PendingGeneration>? QueueNode { get; set; }

    /// <summary>Takes the request out of the queue when its token is cancelled; guarded by the queue's lock.</summary>
    public CancellationTokenRegistration QueueRegistration { get; set; }
}
