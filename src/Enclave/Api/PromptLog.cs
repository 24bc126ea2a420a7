using System.Text.Json;

namespace Enclave.Api;

/// <summary>
/// Prompt text never reaches the logs, except when an operator turns on trace logging for the category
/// <c>Enclave.Prompts</c> to debug a client (<c>Logging:LogLevel:Enclave.Prompts=Trace</c>). The gateway says so
/// loudly at start-up when it is on.
/// </summary>
public static partial class PromptLog
{
    public const string Category = "Enclave.Prompts";

    public static bool IsEnabled(ILoggerFactory loggers) => loggers.CreateLogger(Category).IsEnabled(LogLevel.Trace);

    public static void Write(ILoggerFactory loggers, string requestId, string model, JsonElement body)
    {
        var logger = loggers.CreateLogger(Category);
        if (logger.IsEnabled(LogLevel.Trace))
        {
            var text = body.GetRawText();
            LogPrompt(logger, requestId, model, text);
        }
    }

    /// <summary>Warns at start-up when prompt logging is on.</summary>
    public static void WarnIfEnabled(ILoggerFactory loggers)
    {
        if (IsEnabled(loggers))
        {
            LogPromptLoggingOn(loggers.CreateLogger(Category));
        }
    }

    [LoggerMessage(EventId = 3100, Level = LogLevel.Trace, Message = "Request {RequestId} for {Model}: {Body}")]
    private static partial void LogPrompt(ILogger logger, string requestId, string model, string body);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Prompt logging is ON (Logging:LogLevel:Enclave.Prompts=Trace): request bodies, prompts included, are written to the log. Turn it off when done.")]
    private static partial void LogPromptLoggingOn(ILogger logger);
}
