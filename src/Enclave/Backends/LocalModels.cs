using Enclave.Engine;
using Microsoft.Extensions.Options;

namespace Enclave.Backends;

/// <summary>Configured local models, each served by a supervised worker. Thread-safe after start.</summary>
public sealed partial class LocalModels : IHostedService, IAsyncDisposable
{
    private readonly Dictionary<string, WorkerSupervisor> _workers;
    private readonly ILogger _logger;

    public LocalModels(IOptions<ModelsOptions> options, IOptions<Api.ApiLimits> limits, ILoggerFactory loggers, TimeProvider time)
    {
        var logger = loggers.CreateLogger("Enclave.Backends");
        _logger = logger;
        _workers = options.Value.Models.ToDictionary(
            kv => kv.Key,
            kv => new WorkerSupervisor(kv.Key, kv.Value, limits.Value, logger, time),
            StringComparer.Ordinal);
    }

    public IEnumerable<WorkerSupervisor> All => _workers.Values;

    public WorkerSupervisor? Find(string model) => _workers.GetValueOrDefault(model);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_workers.Count == 0)
        {
            LogNoModels(_logger);
        }

        foreach (var worker in _workers.Values)
        {
            worker.Start();
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    [LoggerMessage(EventId = 3020, Level = LogLevel.Warning, Message = "No models configured: add --model NAME=PATH or a Models section in enclave.json")]
    private static partial void LogNoModels(ILogger logger);

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers.Values)
        {
            await worker.DisposeAsync();
        }
    }
}

/// <summary>The <c>Models</c> section: public model name to how it is served.</summary>
public sealed class ModelsOptions
{
    public Dictionary<string, EngineOptions> Models { get; set; } = new(StringComparer.Ordinal);
}
