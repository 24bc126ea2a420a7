using System.Collections.Concurrent;
using Enclave.Api;
using Enclave.Ledger;
using Microsoft.Extensions.Options;

namespace Enclave.Hosting;

/// <summary>
/// Drains the gateway when the host stops (SIGTERM), the way Envoy drains a listener. From the first moment of the
/// stop, new requests get 503 <c>server_shutting_down</c> with <c>Retry-After</c> and <c>/readyz</c> answers 503, so
/// load balancers move away; the listeners stay open meanwhile, so a client is told rather than refused a
/// connection. Requests already running continue for up to <see cref="ServerOptions.ShutdownTimeoutSeconds"/>. At
/// that deadline the ones left are cut: each records its usage, then a stream ends with a final
/// <c>data: {"error":{...,"code":"server_shutting_down"}}</c> event (never <c>[DONE]</c>) and a whole answer becomes
/// that 503. They get <see cref="CutGrace"/> to write it, after which their connections are aborted.
/// <para>
/// The drain runs in <see cref="StoppingAsync"/>, which the host calls before any hosted service's <c>StopAsync</c>,
/// so workers and Kestrel stop only once it is over; <see cref="StoppedAsync"/>, called after Kestrel has stopped,
/// commits what the usage ledger still holds and closes it. Thread-safe.
/// </para>
/// </summary>
public sealed partial class GracefulShutdown : IHostedLifecycleService, IDisposable
{
    /// <summary>After the cut, how long the requests still running have to record their usage and send their last event.</summary>
    public static readonly TimeSpan CutGrace = TimeSpan.FromSeconds(3);

    /// <summary>The answer to requests that arrive while draining, and the last event of streams cut at the deadline.</summary>
    public static readonly ApiError ShuttingDown = ApiError.Unavailable(
        "The server is shutting down. Retry the request: another instance, or this one once restarted, will answer.", "server_shutting_down");

    /// <summary>Retry-After (seconds) on requests refused while draining.</summary>
    public const int RetryAfterSeconds = 5;

    private readonly ConcurrentDictionary<HttpContext, byte> _inFlight = new(ReferenceEqualityComparer.Instance);
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _cut = new();
    private readonly TimeSpan _drainTimeout;
    private readonly LedgerWriter _ledger;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private int _draining;
    private int _refused;

    public GracefulShutdown(IOptions<ServerOptions> server, LedgerWriter ledger, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<GracefulShutdown> logger)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(lifetime);
        _drainTimeout = TimeSpan.FromSeconds(server.Value.ShutdownTimeoutSeconds);
        _ledger = ledger;
        _time = time;
        _logger = logger;
        // ApplicationStopping fires the moment the stop begins, before any hosted service is asked to stop.
        lifetime.ApplicationStopping.Register(BeginDrain);
    }

    /// <summary>True from the moment the host starts stopping.</summary>
    public bool IsDraining => Volatile.Read(ref _draining) != 0;

    /// <summary>Requests being served now (refused ones and probes excluded).</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>
    /// The host's whole stop budget for <paramref name="server"/>: the drain, the cut's grace, and time for workers,
    /// Kestrel and the ledger to stop after it.
    /// </summary>
    public static TimeSpan HostShutdownTimeout(ServerOptions server)
    {
        ArgumentNullException.ThrowIfNull(server);
        return TimeSpan.FromSeconds(server.ShutdownTimeoutSeconds) + CutGrace + TimeSpan.FromSeconds(10);
    }

    /// <summary>
    /// After a cancellation: true when it came from the shutdown cut rather than from the client. Then
    /// <see cref="HttpContext.RequestAborted"/> is given back its usual meaning (the client went away), so the caller
    /// can record the request and write its last answer or event with it.
    /// </summary>
    public static bool TryResumeAfterCut(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Features.Get<CutFeature>() is not { } cut || !cut.Token.IsCancellationRequested || cut.ClientAborted.IsCancellationRequested)
        {
            return false;
        }

        context.RequestAborted = cut.ClientAborted;
        return true;
    }

    /// <summary>
    /// Counts <paramref name="context"/> in, and links its <see cref="HttpContext.RequestAborted"/> to the cut; false
    /// (nothing done) while draining.
    /// </summary>
    internal bool TryEnter(HttpContext context)
    {
        _inFlight[context] = 0;
        // Checked after counting in: a drain that starts between the two either sees this request or is seen here.
        if (IsDraining)
        {
            Exit(context);
            Interlocked.Increment(ref _refused);
            return false;
        }

        var feature = new CutFeature(CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _cut.Token), context.RequestAborted);
        context.Features.Set(feature);
        context.RequestAborted = feature.Token;
        return true;
    }

    internal void Exit(HttpContext context)
    {
        if (context.Features.Get<CutFeature>() is { } feature)
        {
            context.Features.Set<CutFeature>(null);
            feature.Dispose();
        }

        _inFlight.TryRemove(context, out _);
        if (IsDraining && _inFlight.IsEmpty)
        {
            _drained.TrySetResult();
        }
    }

    private void BeginDrain()
    {
        if (Interlocked.Exchange(ref _draining, 1) != 0)
        {
            return;
        }

        LogDraining(_logger, _inFlight.Count, _drainTimeout.TotalSeconds);
        if (_inFlight.IsEmpty)
        {
            _drained.TrySetResult();
        }
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        BeginDrain();
        var started = _time.GetTimestamp();
        if (await WaitDrainedAsync(_drainTimeout, cancellationToken))
        {
            var drainedMs = _time.GetElapsedTime(started).TotalMilliseconds;
            var refusedSoFar = Volatile.Read(ref _refused);
            LogDrained(_logger, drainedMs, refusedSoFar);
            return;
        }

        LogCutting(_logger, _inFlight.Count, _drainTimeout.TotalSeconds);
        await _cut.CancelAsync();
        if (!await WaitDrainedAsync(CutGrace, cancellationToken))
        {
            var stuck = _inFlight.Keys.ToArray();
            LogAborting(_logger, stuck.Length);
            foreach (var context in stuck)
            {
                context.Abort();
            }

            // Aborted handlers still commit their usage records on the way out.
            await WaitDrainedAsync(TimeSpan.FromSeconds(1), cancellationToken);
        }

        var elapsedMs = _time.GetElapsedTime(started).TotalMilliseconds;
        var left = _inFlight.Count;
        var refused = Volatile.Read(ref _refused);
        LogCut(_logger, elapsedMs, left, refused);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs after Kestrel has stopped: commits every usage record still queued and closes the ledger.</summary>
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        await _ledger.DisposeAsync();
        LogLedgerClosed(_logger, _ledger.RecordsWritten, _ledger.RecordsFailed);
    }

    public void Dispose() => _cut.Dispose();

    private async Task<bool> WaitDrainedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await _drained.Task.WaitAsync(timeout, _time, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's own stop budget ran out; it stops the rest without waiting.
            return false;
        }
    }

    /// <summary>One request's link to the cut, and the client's own abort token from before the link.</summary>
    private sealed class CutFeature(CancellationTokenSource linked, CancellationToken clientAborted) : IDisposable
    {
        public CancellationToken ClientAborted { get; } = clientAborted;

        public CancellationToken Token { get; } = linked.Token;

        public void Dispose() => linked.Dispose();
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Shutting down: refusing new requests and draining {InFlight} running ones for up to {TimeoutSeconds} s")]
    private static partial void LogDraining(ILogger logger, int inFlight, double timeoutSeconds);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Drained every request in {ElapsedMs} ms ({Refused} new requests refused)")]
    private static partial void LogDrained(ILogger logger, double elapsedMs, int refused);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Shutdown deadline of {TimeoutSeconds} s reached: ending {InFlight} running requests with server_shutting_down")]
    private static partial void LogCutting(ILogger logger, int inFlight, double timeoutSeconds);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Aborting the connections of {Count} requests that did not finish after the cut")]
    private static partial void LogAborting(ILogger logger, int count);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Information, Message = "Drain ended after {ElapsedMs} ms; {Left} requests still unwinding, {Refused} new requests refused")]
    private static partial void LogCut(ILogger logger, double elapsedMs, int left, int refused);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Information, Message = "Usage ledger flushed and closed: {Written} records written, {Failed} failed since start")]
    private static partial void LogLedgerClosed(ILogger logger, long written, long failed);
}
