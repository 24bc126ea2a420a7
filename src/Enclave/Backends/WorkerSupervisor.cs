using System.Diagnostics;
using System.Net.Sockets;
using Enclave.Engine;

namespace Enclave.Backends;

/// <summary>
/// Runs one model's <c>enclave worker</c> child process and keeps it running: waits for its socket to answer,
/// restarts it with exponential backoff when it dies, and gives the gateway an <see cref="HttpClient"/> that
/// talks HTTP over its Unix domain socket. Thread-safe.
/// </summary>
public sealed partial class WorkerSupervisor : IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(30);

    private readonly EngineOptions _options;
    private readonly Api.ApiLimits _limits;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _socketPath;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _gate = new();
    private TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private Process? _process;
    private WorkerState _state = WorkerState.Starting;
    private int _restarts;
    private int? _lastExitCode;
    private string? _lastError;

    public WorkerSupervisor(string name, EngineOptions options, Api.ApiLimits limits, ILogger logger, TimeProvider time)
    {
        _limits = limits;
        Name = name;
        _options = options;
        _logger = logger;
        _time = time;
        var safe = new string(name.Select(ch => char.IsLetterOrDigit(ch) ? ch : '_').ToArray());
        // Workers trust whoever reaches their socket, so it lives in a directory only this user can enter.
        var directory = Path.Combine(Path.GetTempPath(), $"enclave-{Environment.ProcessId}");
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _socketPath = Path.Combine(directory, $"{safe[..Math.Min(safe.Length, 40)]}-{Guid.NewGuid().ToString("N")[..6]}.sock");
        Client = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = ConnectAsync,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            // A cancelled stream must close its connection at once so the worker frees the slot; draining
            // the rest of a long generation to reuse the connection would hold the slot for seconds.
            MaxResponseDrainSize = 0,
        })
        {
            BaseAddress = new Uri("http://worker/"),
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public string Name { get; }

    /// <summary>Tokens one sequence may hold in this model's engine, read from the worker once it is ready.</summary>
    public int? ContextPerSequence { get; private set; }

    /// <summary>HTTP over the worker's socket; requests fail fast while the worker is down.</summary>
    public HttpClient Client { get; }

    public WorkerSnapshot Snapshot()
    {
        lock (_gate)
        {
            return new WorkerSnapshot(Name, _state, _state == WorkerState.Ready ? SafePid(_process) : null, _restarts, _lastExitCode, _lastError);
        }
    }

    public void Start() => _loop ??= Task.Run(SuperviseAsync);

    /// <summary>Waits until the worker answers, up to <paramref name="timeout"/>; false if it did not.</summary>
    public async Task<bool> WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task ready;
        lock (_gate)
        {
            ready = _ready.Task;
        }

        try
        {
            await ready.WaitAsync(timeout, _time, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private async Task SuperviseAsync()
    {
        var failures = 0;
        while (!_stopping.IsCancellationRequested)
        {
            var started = _time.GetTimestamp();
            try
            {
                await RunOnceAsync(_stopping.Token);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // The supervisor must survive any start failure and retry.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                lock (_gate)
                {
                    _lastError = ex.Message;
                }

                LogStartFailed(_logger, Name, ex);
            }

            if (_stopping.IsCancellationRequested)
            {
                break;
            }

            failures = _time.GetElapsedTime(started) > StableAfter ? 1 : failures + 1;
            var backoff = TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, 250 * Math.Pow(2, failures - 1)));
            lock (_gate)
            {
                _state = WorkerState.Restarting;
                _restarts++;
            }

            LogRestarting(_logger, Name, _lastExitCode, backoff.TotalMilliseconds);
            try
            {
                await Task.Delay(backoff, _time, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        lock (_gate)
        {
            _state = WorkerState.Stopped;
        }
    }

    private async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        using var process = Process.Start(WorkerLaunch.Create(Name, _socketPath, _options, _limits))
            ?? throw new InvalidOperationException("The worker process did not start.");
        lock (_gate)
        {
            _process = process;
            _state = WorkerState.Starting;
        }

        LogStarted(_logger, Name, process.Id);
        var exited = process.WaitForExitAsync(cancellationToken);
        while (!exited.IsCompleted)
        {
            if (await IsHealthyAsync(cancellationToken))
            {
                lock (_gate)
                {
                    _state = WorkerState.Ready;
                    _lastError = null;
                    _ready.TrySetResult();
                }

                LogReady(_logger, Name, process.Id);
                ContextPerSequence = await ReadContextAsync(cancellationToken);
                break;
            }

            await Task.WhenAny(exited, Task.Delay(50, cancellationToken));
        }

        await exited;
        lock (_gate)
        {
            _lastExitCode = process.ExitCode;
            _process = null;
            if (_ready.Task.IsCompleted)
            {
                _ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        // Idle pooled connections point at the dead process's socket.
        LogExited(_logger, Name, process.ExitCode);
    }

    private async Task<int?> ReadContextAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(await Client.GetStringAsync("status", cancellationToken));
            return doc.RootElement.GetProperty("contextPerSequence").GetInt32();
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or System.Text.Json.JsonException or KeyNotFoundException)
        {
            return ContextPerSequence;
        }
    }

    private async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(_socketPath))
        {
            return false;
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            using var response = await Client.GetAsync("healthz", timeout.Token);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(_socketPath), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static int? SafePid(Process? process)
    {
        try
        {
            return process?.Id;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        Process? process;
        lock (_gate)
        {
            process = _process;
        }

        try
        {
            process?.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }

        if (_loop is not null)
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        Client.Dispose();
        _stopping.Dispose();
        if (File.Exists(_socketPath))
        {
            File.Delete(_socketPath);
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Started worker for {Model} (pid {ProcessId})")]
    private static partial void LogStarted(ILogger logger, string model, int processId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Worker for {Model} is ready (pid {ProcessId})")]
    private static partial void LogReady(ILogger logger, string model, int processId);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "Worker for {Model} exited with code {ExitCode}")]
    private static partial void LogExited(ILogger logger, string model, int exitCode);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Restarting worker for {Model} (last exit code {ExitCode}) in {BackoffMs} ms")]
    private static partial void LogRestarting(ILogger logger, string model, int? exitCode, double backoffMs);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error, Message = "Worker for {Model} failed to start")]
    private static partial void LogStartFailed(ILogger logger, string model, Exception error);
}
