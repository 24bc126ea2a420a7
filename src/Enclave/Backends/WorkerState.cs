namespace Enclave.Backends;

/// <summary>Lifecycle of a supervised worker process.</summary>
public enum WorkerState
{
    /// <summary>The process is starting or loading its model.</summary>
    Starting,

    /// <summary>The worker answers requests.</summary>
    Ready,

    /// <summary>The process died and will be started again after a backoff.</summary>
    Restarting,

    /// <summary>The gateway is shutting down; the worker will not start again.</summary>
    Stopped,

    /// <summary>Not loaded: never loaded yet (a model that loads on first use), or unloaded when idle or for memory.</summary>
    Unloaded,

    /// <summary>Being stopped on purpose to free its memory; <see cref="Unloaded"/> next.</summary>
    Unloading,
}

/// <summary>
/// A snapshot of one worker for readiness and operators. <paramref name="Restarts"/> counts restarts after crashes
/// only; <paramref name="Loads"/> counts deliberate loads (at start-up or on demand).
/// </summary>
public sealed record WorkerSnapshot(string Model, WorkerState State, int? ProcessId, int Restarts, int? LastExitCode, string? LastError, int Loads = 0);
