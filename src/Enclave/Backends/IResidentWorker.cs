namespace Enclave.Backends;

/// <summary>What <see cref="ModelResidency"/> needs from a model's worker: start it, stop it on purpose, and read its state.</summary>
internal interface IResidentWorker
{
    string Name { get; }

    /// <summary>Starts the worker (and keeps restarting it after crashes) unless it is already running. Returns at once.</summary>
    void Start();

    /// <summary>Stops the worker on purpose: no restart, no crash counted. Completes when the process has exited.</summary>
    Task UnloadAsync();

    WorkerSnapshot Snapshot();

    Task<bool> WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>The worker process's resident memory in bytes, or null when it is not running.</summary>
    long? ResidentBytes();
}
