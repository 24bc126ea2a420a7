namespace Enclave.Backends;

public sealed partial class WorkerSupervisor
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Started worker for {Model} (pid {ProcessId})")]
    private static partial void LogStarted(ILogger logger, string model, int processId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Worker for {Model} is ready (pid {ProcessId})")]
    private static partial void LogReady(ILogger logger, string model, int processId);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "Worker for {Model} exited with code {ExitCode}")]
    private static partial void LogExited(ILogger logger, string model, int exitCode);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Restarting worker for {Model} (last exit code {ExitCode}) in {BackoffMs} ms")]
    private static partial void LogRestarting(ILogger logger, string model, int? exitCode, double backoffMs);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error, Message = "Worker for {Model} failed to start")]
    private static partial void LogStartFailed(ILogger logger, string model, Exception error);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Worker for {Model} stopped: model unloaded")]
    private static partial void LogUnloaded(ILogger logger, string model);
}
