namespace Enclave.Backends;

/// <summary>Lifecycle of a supervised worker process.</summary>
public enum WorkerState
{
    Starting,
    Ready,
    Restarting,
    Stopped,
}

/// <summary>A snapshot of one worker for readiness and operators.</summary>
public sealed record WorkerSnapshot(string Model, WorkerState State, int? ProcessId, int Restarts, int? LastExitCode, string? LastError);
