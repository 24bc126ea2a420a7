using Microsoft.Extensions.Options;

namespace Enclave.Api;

/// <summary>
/// The client side of a relayed stream, held to <see cref="ApiLimits.MinResponseBytesPerSecond"/> write by write:
/// each write or flush must be accepted within max(grace, its bytes / rate), else the connection is aborted, which
/// cancels <see cref="HttpContext.RequestAborted"/> and with it the generation. Kestrel's own MinResponseDataRate
/// stays on, but it counts all bytes since the response began: behind a producer faster than the rate its deadline
/// runs ahead (every 200-byte event adds 0.8 s at 240 B/s), so a client reading 10 B/s would hold its slot, with the
/// model still generating into buffers, for many minutes. A write only waits once Kestrel's response buffer
/// (<see cref="ApiLimits.MaxResponseBufferBytes"/>) and the socket's are full, so what the gateway holds for a slow
/// reader stays bounded by those. Disposing stops the timer; the response body is not disposed. One writer at a
/// time, like the body it wraps.
/// </summary>
internal sealed partial class SlowReaderGuard : Stream
{
    private readonly Stream _inner;
    private readonly HttpContext _context;
    private readonly double _bytesPerSecond;
    private readonly TimeSpan _grace;
    private readonly ILogger _logger;
    private readonly ITimer? _timer;
    private int _armedBytes = -1;
    private int _tripped;

    private SlowReaderGuard(HttpContext context, Stream inner, ApiLimits limits, TimeProvider time, ILogger logger)
    {
        _inner = inner;
        _context = context;
        _bytesPerSecond = limits.MinResponseBytesPerSecond;
        _grace = TimeSpan.FromSeconds(limits.MinResponseGraceSeconds);
        _logger = logger;
        _timer = _bytesPerSecond > 0 ? time.CreateTimer(static state => ((SlowReaderGuard)state!).Trip(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan) : null;
    }

    /// <summary>Wraps <paramref name="body"/> (the response body of <paramref name="context"/>) with the request's limits.</summary>
    public static SlowReaderGuard For(HttpContext context, Stream body)
    {
        ArgumentNullException.ThrowIfNull(context);
        var services = context.RequestServices;
        return new SlowReaderGuard(
            context,
            body,
            services.GetRequiredService<IOptions<ApiLimits>>().Value,
            services.GetService<TimeProvider>() ?? TimeProvider.System,
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Enclave.Api"));
    }

    /// <summary>True once this guard has aborted the connection.</summary>
    public bool Tripped => Volatile.Read(ref _tripped) != 0;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Arm(buffer.Length);
        try
        {
            await _inner.WriteAsync(buffer, cancellationToken);
        }
        finally
        {
            Disarm();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        Arm(0);
        try
        {
            await _inner.FlushAsync(cancellationToken);
        }
        finally
        {
            Disarm();
        }
    }

    public override void Flush() => throw new NotSupportedException("Synchronous writes are not supported; write asynchronously.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Synchronous writes are not supported; write asynchronously.");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        if (_timer is not null)
        {
            await _timer.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _timer?.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Arm(int bytes)
    {
        if (_timer is null)
        {
            return;
        }

        Volatile.Write(ref _armedBytes, bytes);
        var allowance = TimeSpan.FromSeconds(Math.Max(_grace.TotalSeconds, bytes / _bytesPerSecond));
        _timer.Change(allowance, Timeout.InfiniteTimeSpan);
    }

    private void Disarm()
    {
        if (_timer is null)
        {
            return;
        }

        Volatile.Write(ref _armedBytes, -1);
        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    // A write that completes at the same moment may still be aborted here; it had taken its whole allowance anyway.
    private void Trip()
    {
        var bytes = Volatile.Read(ref _armedBytes);
        if (bytes < 0 || Interlocked.Exchange(ref _tripped, 1) != 0)
        {
            return;
        }

        LogTooSlow(_logger, _context.TraceIdentifier, bytes, Math.Max(_grace.TotalSeconds, bytes / _bytesPerSecond));
        _context.Abort();
    }

    [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "Request {RequestId}: the client did not accept {Bytes} bytes of its stream within {AllowanceSeconds} s (Limits:MinResponseBytesPerSecond); connection aborted")]
    private static partial void LogTooSlow(ILogger logger, string requestId, int bytes, double allowanceSeconds);
}
