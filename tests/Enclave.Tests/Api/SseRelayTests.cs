using System.Text;
using Enclave.Api;

namespace Enclave.Tests.Api;

public sealed class SseRelayTests
{
    /// <summary>Returns the given chunks one read at a time, then ends or throws like a dropped connection.</summary>
    private sealed class ChunkedStream(IEnumerable<string> chunks, bool failAtEnd) : Stream
    {
        private readonly Queue<byte[]> _chunks = new(chunks.Select(Encoding.UTF8.GetBytes));

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_chunks.Count == 0)
            {
                return failAtEnd ? throw new IOException("connection reset") : 0;
            }

            var chunk = _chunks.Peek();
            var n = Math.Min(count, chunk.Length);
            Array.Copy(chunk, 0, buffer, offset, n);
            _chunks.Dequeue();
            if (n < chunk.Length)
            {
                var rest = new Queue<byte[]>([chunk[n..], .. _chunks]);
                _chunks.Clear();
                foreach (var c in rest)
                {
                    _chunks.Enqueue(c);
                }
            }

            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static async Task<(string Output, bool Finished, Exception? Error)> RelayAsync(bool failAtEnd, params string[] chunks)
    {
        var relay = new SseRelay();
        using var client = new MemoryStream();
        Exception? error = null;
        try
        {
            await relay.CopyAsync(new ChunkedStream(chunks, failAtEnd), client, CancellationToken.None);
        }
        catch (IOException ex)
        {
            error = ex;
        }

        return (Encoding.UTF8.GetString(client.ToArray()), relay.Finished, error);
    }

    [Fact]
    public async Task Copy_EventsSplitAcrossReads_RelaysWholeEventsAndSeesDone()
    {
        var (output, finished, _) = await RelayAsync(false, "data: {\"a\"", ":1}\n", "\ndata: {\"b\":2}\n\nda", "ta: [DONE]\n\n");

        Assert.Equal("data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n", output);
        Assert.True(finished);
    }

    [Fact]
    public async Task Copy_UpstreamFailsMidEvent_NeverWritesHalfAnEvent()
    {
        var (output, finished, error) = await RelayAsync(true, "data: {\"a\":1}\n\ndata: {\"b\"");

        Assert.Equal("data: {\"a\":1}\n\n", output);
        Assert.False(finished);
        Assert.NotNull(error);
    }

    [Fact]
    public async Task Copy_UpstreamEndsWithoutDone_IsNotFinished()
    {
        var (output, finished, error) = await RelayAsync(false, "data: {\"a\":1}\n\n");

        Assert.Equal("data: {\"a\":1}\n\n", output);
        Assert.False(finished);
        Assert.Null(error);
    }

    [Fact]
    public async Task Copy_ErrorEvent_CountsAsFinished()
    {
        var (_, finished, _) = await RelayAsync(false, "data: {\"a\":1}\n\ndata: {\"error\":{\"message\":\"x\"}}\n\n");

        Assert.True(finished);
    }

    [Fact]
    public async Task Copy_ContentMentioningDone_IsNotMistakenForTheEnd()
    {
        var (_, finished, _) = await RelayAsync(false, "data: {\"text\":\"data: [DONE]\"}\n\n");

        Assert.False(finished);
    }

    [Fact]
    public async Task Copy_EventLargerThanBuffer_IsRelayedWhole()
    {
        var big = "data: {\"t\":\"" + new string('x', 40_000) + "\"}\n\n";

        var (output, _, _) = await RelayAsync(false, big[..10_000], big[10_000..30_000], big[30_000..], "data: [DONE]\n\n");

        Assert.Equal(big + "data: [DONE]\n\n", output);
    }

    [Fact]
    public async Task Copy_UsageComment_IsReadAndNotRelayed()
    {
        var relay = new SseRelay();
        using var client = new MemoryStream();
        var upstream = "data: {\"a\":1}\n\n: usage {\"prompt_tokens\":7,\"completion_tokens\":3}\n\ndata: [DONE]\n\n";

        await relay.CopyAsync(new ChunkedStream([upstream[..20], upstream[20..]], false), client, CancellationToken.None);

        Assert.Equal("data: {\"a\":1}\n\ndata: [DONE]\n\n", Encoding.UTF8.GetString(client.ToArray()));
        Assert.Equal((7, 3), relay.Usage);
        Assert.True(relay.Finished);
    }

    [Fact]
    public async Task Copy_HoldFinalEvent_KeepsDoneUntilAskedAndSeesFirstText()
    {
        var relay = new SseRelay { HoldFinalEvent = true };
        using var client = new MemoryStream();
        var upstream = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
            + "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n: usage {\"prompt_tokens\":1,\"completion_tokens\":1}\n\ndata: [DONE]\n\n";

        await relay.CopyAsync(new ChunkedStream([upstream], false), client, CancellationToken.None);
        var before = Encoding.UTF8.GetString(client.ToArray());
        await relay.WriteFinalEventAsync(client, CancellationToken.None);

        Assert.DoesNotContain("[DONE]", before, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", Encoding.UTF8.GetString(client.ToArray()), StringComparison.Ordinal);
        Assert.True(relay.Finished);
        Assert.NotEqual(0, relay.FirstContentTimestamp);
    }

    [Fact]
    public async Task Copy_OnlyEmptyContent_HasNoFirstTextTime()
    {
        var relay = new SseRelay();
        using var client = new MemoryStream();

        await relay.CopyAsync(new ChunkedStream(["data: {\"choices\":[{\"delta\":{\"content\":\"\"}}]}\n\n"], false), client, CancellationToken.None);

        Assert.Equal(0, relay.FirstContentTimestamp);
    }
}
