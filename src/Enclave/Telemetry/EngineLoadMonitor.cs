using System.Collections.Concurrent;
using System.Net.Http.Json;
using Enclave.Backends;
using Enclave.Engine;

namespace Enclave.Telemetry;

/// <summary>One model's worker and engine load at the last poll. <see cref="Resident"/> is false while it is unloaded on purpose.</summary>
public sealed record ModelLoad(string Model, bool Up, int Restarts, EngineStatus? Engine, bool Resident = true);

/// <summary>
/// Polls every local worker's <c>/status</c> on an interval (<c>Telemetry:EngineStatusIntervalMs</c>, 1 s by
/// default) and keeps the last answer, so scrapes and the dashboard read gauges (queue depth, active sequences,
/// KV use, worker up and restarts) without touching the workers themselves.
/// </summary>
public sealed partial class EngineLoadMonitor(LocalModels models, GatewayTelemetry telemetry, TelemetryOptions options, ILogger<EngineLoadMonitor> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, EngineStatus> _status = new(StringComparer.Ordinal);

    /// <summary>The latest sample for every configured model.</summary>
    public IReadOnlyList<ModelLoad> Current() =>
        [.. models.All.Select(w =>
        {
            var s = w.Snapshot();
            var up = s.State == WorkerState.Ready;
            var resident = s.State is not (WorkerState.Unloaded or WorkerState.Unloading);
            return new ModelLoad(w.Name, up, s.Restarts, up ? _status.GetValueOrDefault(w.Name) : null, resident);
        })];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        telemetry.ObserveModels(Current);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(100, options.EngineStatusIntervalMs)));
        do
        {
            await Task.WhenAll(models.All.Select(w => PollAsync(w, stoppingToken)));
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task PollAsync(WorkerSupervisor worker, CancellationToken stoppingToken)
    {
        if (worker.Snapshot().State != WorkerState.Ready)
        {
            _status.TryRemove(worker.Name, out _);
            return;
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            var status = await worker.Client.GetFromJsonAsync<EngineStatus>("status", timeout.Token).ConfigureAwait(false);
            if (status is not null)
            {
                _status[worker.Name] = status;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or System.Text.Json.JsonException || (ex is OperationCanceledException && !stoppingToken.IsCancellationRequested))
        {
            _status.TryRemove(worker.Name, out _);
            LogPollFailed(logger, worker.Name, ex.Message);
        }
    }

    [LoggerMessage(EventId = 8001, Level = LogLevel.Debug, Message = "Engine status of {Model} could not be read: {Reason}")]
    private static partial void LogPollFailed(ILogger logger, string model, string reason);
}
