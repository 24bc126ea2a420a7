namespace Enclave.Backends;

public sealed partial class ModelResidency
{
    [LoggerMessage(EventId = 3030, Level = LogLevel.Information, Message = "Loading {Model} (about {SizeMib} MiB; {UsedMib} MiB of the {Budget} memory budget in use with it)")]
    private static partial void LogLoading(ILogger logger, string model, long sizeMib, long usedMib, string budget);

    [LoggerMessage(EventId = 3031, Level = LogLevel.Information, Message = "Unloading {Model}: idle for its keep-alive ({KeepAlive})")]
    private static partial void LogIdleUnload(ILogger logger, string model, KeepAlive keepAlive);

    [LoggerMessage(EventId = 3032, Level = LogLevel.Information, Message = "Unloading idle {Model} to make room for {Other} within the memory budget")]
    private static partial void LogEvicting(ILogger logger, string model, string other);

    [LoggerMessage(EventId = 3033, Level = LogLevel.Warning, Message = "Cannot load {Model} (about {SizeMib} MiB): the memory budget of {BudgetMib} MiB is held by models serving requests ({Busy})")]
    private static partial void LogBudgetFull(ILogger logger, string model, long sizeMib, long budgetMib, string busy);

    [LoggerMessage(EventId = 3034, Level = LogLevel.Warning, Message = "Cannot load {Model}: it needs about {SizeMib} MiB, more than the whole memory budget of {BudgetMib} MiB (Residency:MemoryBudgetBytes)")]
    private static partial void LogTooLarge(ILogger logger, string model, long sizeMib, long budgetMib);

    [LoggerMessage(EventId = 3035, Level = LogLevel.Warning, Message = "{Model} was not preloaded; it loads on first use: {Reason}")]
    private static partial void LogNotPreloaded(ILogger logger, string model, string? reason);

    [LoggerMessage(EventId = 3036, Level = LogLevel.Error, Message = "Stopping the worker of {Model} failed")]
    private static partial void LogUnloadFailed(ILogger logger, string model, Exception error);
}
