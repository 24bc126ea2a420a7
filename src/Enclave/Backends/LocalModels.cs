using Enclave.Engine;
using Microsoft.Extensions.Options;

namespace Enclave.Backends;

/// <summary>
/// Configured local models, each served by a supervised worker that is loaded at start-up (<c>Preload</c>, the
/// default) or on first use, and unloaded after its keep-alive or when the memory budget needs room (see
/// <see cref="ModelResidency"/>). Thread-safe after start.
/// </summary>
public sealed partial class LocalModels : IHostedService, IAsyncDisposable
{
    private readonly Dictionary<string, WorkerSupervisor> _workers;
    private readonly ModelResidency _residency;
    private readonly ILogger _logger;

    public LocalModels(IOptions<ModelsOptions> options, IOptions<Api.ApiLimits> limits, ILoggerFactory loggers, TimeProvider time)
    {
        var logger = loggers.CreateLogger("Enclave.Backends");
        _logger = logger;
        var models = options.Value;
        _workers = models.Models.ToDictionary(
            kv => kv.Key,
            kv => new WorkerSupervisor(kv.Key, kv.Value, limits.Value, logger, time),
            StringComparer.Ordinal);
        var onDemandKeepAlive = KeepAlive.TryParse(models.Residency.KeepAlive, out var parsed) ? parsed : KeepAlive.From(TimeSpan.FromMinutes(5));
        var specs = models.Models.Select(kv =>
        {
            var preload = kv.Value.Preload ?? true;
            // A preloaded model is one the operator wants warm: it stays loaded unless it sets its own keep-alive.
            var keepAlive = KeepAlive.TryParse(kv.Value.KeepAlive, out var own) ? own : preload ? KeepAlive.Forever : onDemandKeepAlive;
            return new ModelResidency.Spec(_workers[kv.Key], ModelFootprint.Estimate(kv.Value), preload, keepAlive);
        });
        _residency = new ModelResidency(specs, models.Residency.EffectiveBudget(AvailableMemoryBytes()), time, logger);
    }

    public IEnumerable<WorkerSupervisor> All => _workers.Values;

    public WorkerSupervisor? Find(string model) => _workers.GetValueOrDefault(model);

    /// <summary>The memory the loaded models may use together, or null when unlimited.</summary>
    public long? MemoryBudgetBytes => _residency.BudgetBytes;

    /// <summary>Every model's residency (loaded or not, size, last use, expiry), in configuration order: <c>/api/ps</c> and operators.</summary>
    public IReadOnlyList<ModelResidencyInfo> Residency() => _residency.Snapshot();

    /// <summary>
    /// Takes a lease on a configured model, loading it when needed; dispose it when the request ends. Does not wait
    /// for the worker (<see cref="WorkerSupervisor.WaitReadyAsync"/> does). See <see cref="ModelResidency.AcquireAsync"/>.
    /// </summary>
    public ValueTask<ModelAdmission> AcquireAsync(string model, CancellationToken cancellationToken) => _residency.AcquireAsync(model, cancellationToken);

    /// <summary>Overrides a model's keep-alive, as Ollama's <c>keep_alive</c>. See <see cref="ModelResidency.SetKeepAlive"/>.</summary>
    public bool SetKeepAlive(string model, TimeSpan? keepAlive) => _residency.SetKeepAlive(model, keepAlive);

    /// <summary>Why the last request for the model was refused, until a later one is admitted.</summary>
    public ModelAdmission? LastRefusal(string model) => _residency.LastRefusal(model);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_workers.Count == 0)
        {
            LogNoModels(_logger);
        }

        _residency.StartPreloads();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    [LoggerMessage(EventId = 3020, Level = LogLevel.Warning, Message = "No models configured: add --model NAME=PATH or a Models section in enclave.json")]
    private static partial void LogNoModels(ILogger logger);

    public async ValueTask DisposeAsync()
    {
        _residency.Dispose();
        foreach (var worker in _workers.Values)
        {
            await worker.DisposeAsync();
        }
    }

    // Physical memory, or the container's limit when lower; 0 when unknown (then the budget is unlimited).
    private static long AvailableMemoryBytes() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
}

/// <summary>The <c>Models</c> section (public model name to how it is served) and the <c>Residency</c> section.</summary>
public sealed class ModelsOptions
{
    public Dictionary<string, EngineOptions> Models { get; set; } = new(StringComparer.Ordinal);

    public ModelResidencyOptions Residency { get; set; } = new();
}
