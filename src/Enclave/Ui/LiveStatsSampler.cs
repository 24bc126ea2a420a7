namespace Enclave.Ui;

/// <summary>
/// Reads the gateway's observable gauges into <see cref="LiveStats"/> once a second. A gauge callback that throws is
/// logged (at most once a minute) and sampling goes on; anything else that ends the loop stops the application.
/// </summary>
public sealed partial class LiveStatsSampler(LiveStats stats, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<LiveStatsSampler> logger) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan WarningInterval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long lastWarning = 0;
        try
        {
            using var timer = new PeriodicTimer(Period, time);
            do
            {
                try
                {
                    stats.Sample();
                }
                catch (AggregateException ex)
                {
                    if (lastWarning == 0 || time.GetElapsedTime(lastWarning) >= WarningInterval)
                    {
                        lastWarning = time.GetTimestamp();
                        LogSampleFailed(logger, ex.InnerExceptions.Count, ex.InnerException ?? ex);
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogSamplerDied(logger, ex);
            lifetime.StopApplication();
        }
    }

    [LoggerMessage(EventId = 9001, Level = LogLevel.Warning, Message = "{Count} gauge callback(s) of the gateway meter failed while the dashboard sampled them")]
    private static partial void LogSampleFailed(ILogger logger, int count, Exception error);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Critical, Message = "The dashboard's gauge sampler stopped unexpectedly; stopping the gateway")]
    private static partial void LogSamplerDied(ILogger logger, Exception error);
}
