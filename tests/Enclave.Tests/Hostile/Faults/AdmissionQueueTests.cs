using Enclave.Engine;

namespace Enclave.Tests.Hostile.Faults;

/// <summary>
/// F16 at the engine's door: a request cancelled while it waits leaves the admission queue at once, freeing its place,
/// and is never handed to the decode loop; one already taken by the loop is the loop's to end.
/// </summary>
public sealed class AdmissionQueueTests
{
    private static PendingGeneration Pending(CancellationToken token) => new(new GenerationRequest { PromptTokens = [1, 2, 3] }, token);

    [Fact]
    public void CancelledWhileWaiting_LeavesAtOnceAndFreesItsPlace()
    {
        var queue = new AdmissionQueue(capacity: 1);
        using var leaving = new CancellationTokenSource();
        var first = Pending(leaving.Token);
        var second = Pending(CancellationToken.None);
        Assert.True(queue.TryEnqueue(first));
        Assert.False(queue.TryEnqueue(second));

        leaving.Cancel();

        Assert.Equal(0, queue.Count);
        Assert.True(first.Output.Reader.Completion.IsCompleted);
        Assert.True(queue.TryEnqueue(second));
        Assert.True(queue.TryDequeue(out var next));
        Assert.Same(second, next);
        Assert.False(queue.TryDequeue(out _));
    }

    [Fact]
    public void AlreadyCancelled_NeverWaits()
    {
        var queue = new AdmissionQueue(capacity: 4);
        var gone = Pending(new CancellationToken(canceled: true));
        Assert.True(queue.TryEnqueue(gone));
        Assert.Equal(0, queue.Count);
        Assert.False(queue.TryDequeue(out _));
        Assert.True(gone.Output.Reader.Completion.IsCompleted);
    }

    [Fact]
    public void CancelledAfterDequeue_IsLeftToTheDecodeLoop()
    {
        var queue = new AdmissionQueue(capacity: 4);
        using var cancel = new CancellationTokenSource();
        var admitted = Pending(cancel.Token);
        Assert.True(queue.TryEnqueue(admitted));
        Assert.True(queue.TryDequeue(out _));

        cancel.Cancel();

        Assert.False(admitted.Output.Reader.Completion.IsCompleted);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public async Task ConcurrentCancels_KeepOrderAndCount()
    {
        var queue = new AdmissionQueue(capacity: 10_000);
        var sources = Enumerable.Range(0, 2000).Select(_ => new CancellationTokenSource()).ToArray();
        var pending = sources.Select(s => Pending(s.Token)).ToArray();
        foreach (var p in pending)
        {
            Assert.True(queue.TryEnqueue(p));
        }

        // Every third request's client leaves, from several threads at once.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = t * 3; i < sources.Length; i += 12)
            {
                sources[i].Cancel();
            }
        })));

        var kept = pending.Where((_, i) => i % 3 != 0).ToArray();
        Assert.Equal(kept.Length, queue.Count);
        foreach (var expected in kept)
        {
            Assert.True(queue.TryDequeue(out var next));
            Assert.Same(expected, next);
        }

        Assert.All(pending.Where((_, i) => i % 3 == 0), p => Assert.True(p.Output.Reader.Completion.IsCompleted));
        Array.ForEach(sources, s => s.Dispose());
    }
}
