using Enclave.Backends;

namespace Enclave.Tests.Backends.Residency;

/// <summary>A worker without a process: counts starts and unloads, becomes ready when told, and can hold an unload open.</summary>
internal sealed class FakeResidentWorker(string name) : IResidentWorker
{
    private readonly object _gate = new();
    private TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WorkerState _state = WorkerState.Unloaded;

    public string Name => name;

    public int Starts { get; private set; }

    public int Unloads { get; private set; }

    /// <summary>Resident memory the fake reports while running.</summary>
    public long? Resident { get; set; }

    /// <summary>When set, an unload waits for it before the worker counts as unloaded.</summary>
    public TaskCompletionSource? HoldUnload { get; set; }

    public WorkerState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    public void Start()
    {
        lock (_gate)
        {
            if (_state is WorkerState.Starting or WorkerState.Ready)
            {
                return;
            }

            Starts++;
            _state = WorkerState.Starting;
        }
    }

    public void MakeReady()
    {
        lock (_gate)
        {
            Assert.Equal(WorkerState.Starting, _state);
            _state = WorkerState.Ready;
            _ready.TrySetResult();
        }
    }

    public async Task UnloadAsync()
    {
        lock (_gate)
        {
            if (_state is WorkerState.Unloaded)
            {
                return;
            }

            Unloads++;
            _state = WorkerState.Unloading;
        }

        if (HoldUnload is { } hold)
        {
            await hold.Task;
        }

        lock (_gate)
        {
            _state = WorkerState.Unloaded;
            if (_ready.Task.IsCompleted)
            {
                _ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    public WorkerSnapshot Snapshot() => new(Name, State, null, 0, null, null, Starts);

    public async Task<bool> WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task ready;
        lock (_gate)
        {
            ready = _ready.Task;
        }

        try
        {
            await ready.WaitAsync(timeout, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public long? ResidentBytes() => State is WorkerState.Unloaded ? null : Resident;
}
