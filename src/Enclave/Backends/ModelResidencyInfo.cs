namespace Enclave.Backends;

/// <summary>
/// One local model's residency, for <c>/admin/workers</c>, <c>/v1/models</c> and Ollama's <c>/api/ps</c>. Immutable.
/// </summary>
/// <param name="Model">The model's public name.</param>
/// <param name="State">The worker's state; <see cref="IsLoaded"/> summarises it.</param>
/// <param name="Preload">Loaded at start-up (else on first use).</param>
/// <param name="SizeBytes">Memory counted against the budget: the estimate from its GGUF, or the worker's measured
/// resident memory when that was larger.</param>
/// <param name="EstimatedBytes">The estimate from the GGUF file and the engine settings.</param>
/// <param name="ResidentBytes">The worker's resident memory now, or null when it is not running.</param>
/// <param name="ActiveRequests">Leases held: requests being served (the model cannot unload while above zero).</param>
/// <param name="KeepAlive">The keep-alive that applies when it is next idle (an override, or the configured one).</param>
/// <param name="LastUsed">When its last request ended (or began, while one runs), UTC; null when never used.</param>
/// <param name="ExpiresAt">When it will unload if no request comes, UTC; null while serving, when unloaded, or
/// when the keep-alive is forever.</param>
public sealed record ModelResidencyInfo(
    string Model,
    WorkerState State,
    bool Preload,
    long SizeBytes,
    long EstimatedBytes,
    long? ResidentBytes,
    int ActiveRequests,
    KeepAlive KeepAlive,
    DateTimeOffset? LastUsed,
    DateTimeOffset? ExpiresAt)
{
    /// <summary>The worker is up and answering.</summary>
    public bool IsLoaded => State == WorkerState.Ready;

    /// <summary><c>loaded</c>, <c>loading</c> (starting, or restarting after a crash) or <c>unloaded</c> (also while unloading).</summary>
    public string Status => State switch
    {
        WorkerState.Ready => "loaded",
        WorkerState.Starting or WorkerState.Restarting => "loading",
        _ => "unloaded",
    };
}
