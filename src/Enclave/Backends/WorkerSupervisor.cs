using System.Diagnostics;
using System.Net.Sockets;
using Enclave.Engine;

namespace Enclave.Backends;

/// <summary>
/// Runs one model's <c>enclave worker</c> child process and keeps it running while the model is loaded: waits for
/// its socket to answer, restarts it with exponential backoff when it dies, and gives the gateway an
/// <see cref="HttpClient"/> that talks HTTP over its Unix domain socket. <see cref="Start"/> loads the model and
/// <see cref="UnloadAsync"/> stops the worker on purpose (no restart, no crash counted); which models are loaded
/// is decided by <see cref="ModelResidency"/>. Thread-safe.
/// </summary>
public sealed partial class WorkerSupervisor : IAsyncDisposable, IResidentWorker
{
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(10);

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
    private CancellationTokenSource? _run;
    private Process? _process;
    private WorkerState _state = WorkerState.Unloaded;
    private int _restarts;
    private int _loads;
    private bool _disposed;
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
            return new WorkerSnapshot(Name, _state, _state == WorkerState.Ready ? SafePid(_process) : null, _restarts, _lastExitCode, _lastError, _loads);
        }
    }

    /// <summary>Starts the worker unless it is running (starting, ready or restarting). Returns at once.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_loop is not null || _disposed)
            {
                return;
            }

            _run = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            _state = WorkerState.Starting;
            _loads++;
            var run = _run.Token;
            _loop = Task.Run(() => SuperviseAsync(run));
        }
    }

    /// <summary>
    /// Stops the worker on purpose and waits (up to 10 s) for its process to exit: the state becomes
    /// <see cref="WorkerState.Unloaded"/>, no restart follows and none is counted. No-op when not running.
    /// </summary>
    public async Task UnloadAsync()
    {
        Task loop;
        CancellationTokenSource run;
        lock (_gate)
        {
            if (_loop is null || _run is null || _disposed)
            {
                return;
            }

            loop = _loop;
            run = _run;
            _state = WorkerState.Unloading;
        }

        // Cancelling the run kills the process (see RunOnceAsync) and ends the supervision loop.
        try
        {
            await run.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // DisposeAsync got there first: it stopped the process.
        }

        await loop.WaitAsync(StopWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        lock (_gate)
        {
            if (ReferenceEquals(_loop, loop))
            {
                _loop = null;
                _run = null;
                _state = _disposed ? WorkerState.Stopped : WorkerState.Unloaded;
                if (_ready.Task.IsCompleted)
                {
                    _ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
        }

        if (loop.IsCompleted)
        {
            run.Dispose();
        }

        DeleteSocket();
        LogUnloaded(_logger, Name);
    }

    /// <summary>The worker's resident memory (VmRSS) in bytes, or null when no process is running.</summary>
    public long? ResidentBytes()
    {
        int? pid;
        lock (_gate)
        {
            pid = SafePid(_process);
        }

        if (pid is null)
        {
            return null;
        }

        try
        {
            // statm: size resident shared text lib data dt, in pages.
            var fields = File.ReadAllText($"/proc/{pid}/statm").Split(' ');
            return fields.Length > 1 && long.TryParse(fields[1], System.Globalization.CultureInfo.InvariantCulture, out var pages)
                ? pages * Environment.SystemPageSize
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

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

    private async Task SuperviseAsync(CancellationToken run)
    {
        var failures = 0;
        while (!run.IsCancellationRequested)
        {
            var started = _time.GetTimestamp();
            try
            {
                await RunOnceAsync(run);
            }
            catch (OperationCanceledException) when (run.IsCancellationRequested)
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

            // Stopped on purpose (unloaded or shutting down): not a crash, no restart.
            if (run.IsCancellationRequested)
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
                await Task.Delay(backoff, _time, run);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        lock (_gate)
        {
            // A loop that outlived UnloadAsync's wait must not overwrite the state of the next load.
            if (_run is not null && _run.Token == run)
            {
                _state = _disposed ? WorkerState.Stopped : WorkerState.Unloading;
            }
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
        // A deliberate stop kills the process wherever this method is, even between Process.Start and here; the
        // exit is then awaited without the token, so an unload returns only once the memory is free.
        using var kill = cancellationToken.Register(static p => KillQuietly((Process)p!), process);
        var exited = process.WaitForExitAsync(CancellationToken.None);
        try
        {
            while (!exited.IsCompleted)
            {
                if (await IsHealthyAsync(cancellationToken))
                {
                    lock (_gate)
                    {
                        // A worker being unloaded stays "unloading" even if it answers meanwhile.
                        _state = cancellationToken.IsCancellationRequested ? _state : WorkerState.Ready;
                        _lastError = null;
                        _ready.TrySetResult();
                    }

                    LogReady(_logger, Name, process.Id);
                    ContextPerSequence = await ReadContextAsync(cancellationToken);
                    break;
                }

                await Task.WhenAny(exited, Task.Delay(50, cancellationToken));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping on purpose: fall through to wait for the killed process.
        }

        await exited;
        lock (_gate)
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                _lastExitCode = process.ExitCode;
            }

            if (ReferenceEquals(_process, process))
            {
                _process = null;
            }

            if (_ready.Task.IsCompleted)
            {
                _ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        // Idle pooled connections point at the dead process's socket.
        if (!cancellationToken.IsCancellationRequested)
        {
            LogExited(_logger, Name, process.ExitCode);
        }
    }

    private static void KillQuietly(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already exited.
        }
    }

    private void DeleteSocket()
    {
        try
        {
            File.Delete(_socketPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The next worker replaces a stale socket file itself.
        }
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
        Task? loop;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            loop = _loop;
            _state = loop is null ? WorkerState.Stopped : _state;
        }

        // Every run token is linked to _stopping: cancelling it kills the process and ends the loop.
        await _stopping.CancelAsync();
        if (loop is not null)
        {
            await loop.WaitAsync(StopWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        lock (_gate)
        {
            _state = WorkerState.Stopped;
            if (loop is null || loop.IsCompleted)
            {
                _run?.Dispose();
                _run = null;
                _stopping.Dispose();
            }
        }

        Client.Dispose();
        DeleteSocket();
    }
}
