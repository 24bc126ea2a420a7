using Enclave.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Enclave.Tests.Hostile.Faults;

/// <summary>
/// F17's bounds in isolation: <see cref="SlowReaderGuard"/> aborts a client that has not accepted a write within
/// max(grace, bytes / rate) and never one that keeps up however long its stream lasts; <see cref="SseRelay"/> holds at
/// most 1 MiB of an unfinished event.
/// </summary>
public sealed class StreamBoundsTests
{
    [Fact]
    public async Task Guard_WriteStalledPastGrace_AbortsConnection()
    {
        var (context, lifetime, time) = Context(bytesPerSecond: 240, graceSeconds: 5);
        var client = new StalledStream();
        await using var guard = SlowReaderGuard.For(context, client);

        var write = guard.WriteAsync(new byte[200]);
        time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Equal(0, lifetime.Aborts);
        time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal(1, lifetime.Aborts);
        Assert.True(guard.Tripped);
        client.Release();
        await write;
    }

    [Fact]
    public async Task Guard_LargeWrite_IsAllowedItsBytesOverTheRate()
    {
        var (context, lifetime, time) = Context(bytesPerSecond: 240, graceSeconds: 5);
        var client = new StalledStream();
        await using var guard = SlowReaderGuard.For(context, client);

        var write = guard.WriteAsync(new byte[240 * 20]);
        time.Advance(TimeSpan.FromSeconds(19));
        Assert.Equal(0, lifetime.Aborts);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, lifetime.Aborts);
        client.Release();
        await write;
    }

    [Fact]
    public async Task Guard_ClientThatKeepsUp_IsNeverAborted()
    {
        var (context, lifetime, time) = Context(bytesPerSecond: 240, graceSeconds: 5);
        await using var guard = SlowReaderGuard.For(context, Stream.Null);
        for (var i = 0; i < 1000; i++)
        {
            // An hour of 1 KiB events, 4 s apart: each is taken at once, so the stream's length does not count.
            await guard.WriteAsync(new byte[1024]);
            await guard.FlushAsync();
            time.Advance(TimeSpan.FromSeconds(4));
        }

        Assert.Equal(0, lifetime.Aborts);
        Assert.False(guard.Tripped);
    }

    [Fact]
    public async Task Guard_RateZero_IsOff()
    {
        var (context, lifetime, time) = Context(bytesPerSecond: 0, graceSeconds: 5);
        var client = new StalledStream();
        await using var guard = SlowReaderGuard.For(context, client);
        var flush = guard.FlushAsync();
        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, lifetime.Aborts);
        client.Release();
        await flush;
    }

    [Fact]
    public async Task Relay_EventThatNeverEnds_FailsAtOneMebibyte()
    {
        var upstream = new EndlessLine();
        var relay = new SseRelay();
        await Assert.ThrowsAsync<InvalidDataException>(() => relay.CopyAsync(upstream, Stream.Null, CancellationToken.None));
        Assert.InRange(upstream.BytesRead, 1 << 20, (1 << 20) + (64 << 10));
    }

    private static (DefaultHttpContext Context, LifetimeRecorder Lifetime, FakeTimeProvider Time) Context(double bytesPerSecond, int graceSeconds)
    {
        var time = new FakeTimeProvider();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<TimeProvider>(time)
            .AddSingleton(Options.Create(new ApiLimits { MinResponseBytesPerSecond = bytesPerSecond, MinResponseGraceSeconds = graceSeconds }))
            .BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        var lifetime = new LifetimeRecorder();
        context.Features.Set<IHttpRequestLifetimeFeature>(lifetime);
        return (context, lifetime, time);
    }

    private sealed class LifetimeRecorder : IHttpRequestLifetimeFeature
    {
        public int Aborts { get; private set; }

        public CancellationToken RequestAborted { get; set; }

        public void Abort() => Aborts++;
    }

    /// <summary>A client that accepts nothing until released.</summary>
    private sealed class StalledStream : Stream
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public void Release() => _released.TrySetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => await _released.Task.WaitAsync(cancellationToken);

        public override Task FlushAsync(CancellationToken cancellationToken) => _released.Task.WaitAsync(cancellationToken);

        public override void Flush() => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>An upstream that sends <c>data: xxxx…</c> forever, never ending the event.</summary>
    private sealed class EndlessLine : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Assert.True(BytesRead < 64 << 20, "the relay kept reading an event that never ends");
            var n = Math.Min(buffer.Length, 4096);
            buffer.Span[..n].Fill((byte)'x');
            BytesRead += n;
            return ValueTask.FromResult(n);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush() => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
