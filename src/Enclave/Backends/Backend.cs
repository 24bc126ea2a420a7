namespace Enclave.Backends;

/// <summary>
/// Where one attempt of a request goes: the client to use and the absolute or relative address, and a lease the
/// caller disposes when the attempt ends (a local model cannot be unloaded while it is held).
/// </summary>
public readonly record struct BackendEndpoint(HttpClient Client, Uri Address, IDisposable? Lease = null);

/// <summary>
/// A server that answers OpenAI-shaped inference requests: the local workers (backend <c>local</c>) or a remote
/// inference server. Counts its requests in flight (for least-outstanding balancing and its concurrency cap) and
/// owns its circuit breaker. Thread-safe.
/// </summary>
public abstract class Backend(string name, double weight, int maxConcurrency, BackendTimeouts timeouts, CircuitBreaker breaker) : IAsyncDisposable
{
    private int _outstanding;

    public string Name { get; } = name;

    public double Weight { get; } = weight;

    public int MaxConcurrency { get; } = maxConcurrency;

    public BackendTimeouts Timeouts { get; } = timeouts;

    public CircuitBreaker Breaker { get; } = breaker;

    public int Outstanding => Volatile.Read(ref _outstanding);

    public abstract bool IsLocal { get; }

    /// <summary>Where it is, for logs and spans (never carries credentials).</summary>
    public abstract string Address { get; }

    /// <summary>The upstream model names it serves now.</summary>
    public abstract IReadOnlyCollection<string> Models { get; }

    public virtual bool Serves(string model) => Models.Contains(model);

    /// <summary>Takes a slot under <see cref="MaxConcurrency"/>; false when full.</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _outstanding) > MaxConcurrency)
        {
            Interlocked.Decrement(ref _outstanding);
            return false;
        }

        return true;
    }

    public void Exit() => Interlocked.Decrement(ref _outstanding);

    /// <summary>
    /// The endpoint for an OpenAI path (<c>chat/completions</c>, <c>completions</c>, <c>embeddings</c>), or null
    /// when the backend cannot take the model now (a local worker starting). <paramref name="wait"/> bounds how
    /// long to wait for it to become ready.
    /// </summary>
    public abstract ValueTask<BackendEndpoint?> ResolveAsync(string model, string path, TimeSpan wait, CancellationToken cancellationToken);

    /// <summary>Why <see cref="ResolveAsync"/> just refused <paramref name="model"/>: a message safe for clients and when to retry; null when unknown.</summary>
    public virtual (string Message, TimeSpan RetryAfter)? Refusal(string model) => null;

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The local workers as one backend, named <c>local</c>; each model has its own worker process.</summary>
/// <remarks>One worker's crash must not shut the others out, so this backend's circuit never opens; each worker
/// has its own supervisor with restart backoff instead.</remarks>
public sealed class LocalBackend(LocalModels models, TimeProvider time)
    : Backend(LocalName, 1, int.MaxValue, LocalTimeouts, new CircuitBreaker(NeverOpen, time))
{
    public const string LocalName = "local";

    // Local queues can be long by design (the engine's admission queue answers 429 when full), so only the total
    // budget bounds waiting for the first token.
    private static readonly ResilienceOptions NeverOpen = new() { BreakerConsecutiveFailures = int.MaxValue, BreakerFailureRatio = 2 };

    private static readonly BackendTimeouts LocalTimeouts = new() { ConnectMs = 5_000, FirstTokenMs = 600_000, IdleMs = 600_000, TotalMs = 600_000 };

    public LocalModels Workers => models;

    public override bool IsLocal => true;

    public override string Address => "local workers";

    public override IReadOnlyCollection<string> Models => [.. models.All.Select(w => w.Name)];

    public override bool Serves(string model) => models.Find(model) is not null;

    /// <summary>
    /// Takes a lease on the model (loading it when it is not loaded; see <see cref="ModelResidency"/>), then waits
    /// up to <paramref name="wait"/> for its worker. The endpoint carries the lease: the model stays loaded until the
    /// caller disposes it at the end of the attempt.
    /// </summary>
    public override async ValueTask<BackendEndpoint?> ResolveAsync(string model, string path, TimeSpan wait, CancellationToken cancellationToken)
    {
        var worker = models.Find(model);
        if (worker is null)
        {
            return null;
        }

        var admission = await models.AcquireAsync(model, cancellationToken).ConfigureAwait(false);
        if (admission.Lease is not { } lease)
        {
            return null;
        }

        var ready = false;
        try
        {
            ready = await worker.WaitReadyAsync(wait, cancellationToken).ConfigureAwait(false);
            return ready ? new BackendEndpoint(worker.Client, new Uri("v1/" + path, UriKind.Relative), lease) : null;
        }
        finally
        {
            if (!ready)
            {
                lease.Dispose();
            }
        }
    }

    public override (string Message, TimeSpan RetryAfter)? Refusal(string model) =>
        models.LastRefusal(model) is { Refusal: { } message } refusal ? (message, refusal.RetryAfter) : null;
}
