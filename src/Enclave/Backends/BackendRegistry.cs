using Microsoft.Extensions.Options;

namespace Enclave.Backends;

/// <summary>The <c>Backends</c>, <c>Routes</c> and <c>Resilience</c> sections.</summary>
public sealed class RoutingOptions
{
    public Dictionary<string, BackendOptions> Backends { get; set; } = new(StringComparer.Ordinal);

    public Dictionary<string, RouteOptions> Routes { get; set; } = new(StringComparer.Ordinal);

    public ResilienceOptions Resilience { get; set; } = new();
}

/// <summary>
/// Every backend the gateway can send a request to: <c>local</c> (the workers) and the configured remote servers.
/// Runs the first model discovery before the gateway listens, then active health checks on an interval.
/// </summary>
public sealed partial class BackendRegistry : BackgroundService
{
    private readonly Dictionary<string, Backend> _backends;
    private readonly RoutingOptions _options;
    private readonly ILogger<BackendRegistry> _logger;

    public BackendRegistry(LocalModels models, IOptions<RoutingOptions> options, TimeProvider time, ILogger<BackendRegistry> logger)
    {
        _options = options.Value;
        _logger = logger;
        Local = new LocalBackend(models, time);
        _backends = new Dictionary<string, Backend>(StringComparer.Ordinal) { [LocalBackend.LocalName] = Local };
        foreach (var (name, backend) in _options.Backends)
        {
            _backends[name] = new RemoteBackend(name, backend, _options.Resilience, time);
        }
    }

    public LocalBackend Local { get; }

    public IEnumerable<Backend> All => _backends.Values;

    public IEnumerable<RemoteBackend> Remote => _backends.Values.OfType<RemoteBackend>();

    public Backend? Find(string name) => _backends.GetValueOrDefault(name);

    /// <summary>Discovers remote models once, in parallel, before the gateway starts listening.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await CheckAllAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Remote.Any())
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(200, _options.Resilience.HealthCheckIntervalMs)));
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            await CheckAllAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    private Task CheckAllAsync(CancellationToken cancellationToken) => Task.WhenAll(Remote.Select(async backend =>
    {
        var was = backend.Healthy;
        var failure = await backend.CheckAsync(cancellationToken).ConfigureAwait(false);
        if (failure is not null && was != false)
        {
            LogUnhealthy(_logger, backend.Name, backend.Address, failure);
        }
        else if (failure is null && was != true && _logger.IsEnabled(LogLevel.Information))
        {
            var models = string.Join(", ", backend.Models);
            LogHealthy(_logger, backend.Name, backend.Address, models);
        }
    }));

    public override async void Dispose()
    {
        base.Dispose();
        foreach (var remote in Remote)
        {
            await remote.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Backend {Backend} ({Address}) failed its health check: {Reason}")]
    private static partial void LogUnhealthy(ILogger logger, string backend, string address, string reason);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Backend {Backend} ({Address}) is healthy; models: {Models}")]
    private static partial void LogHealthy(ILogger logger, string backend, string address, string models);
}
