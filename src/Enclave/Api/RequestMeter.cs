using System.Diagnostics;
using Enclave.Ledger;
using Enclave.Security.Auth;

namespace Enclave.Api;

/// <summary>
/// What one forwarded request did, written to the usage ledger exactly once, and (by the caller) before the
/// response's final byte, so every response a client saw complete has a durable record. One per request; not
/// thread-safe.
/// </summary>
public sealed partial class RequestMeter(HttpContext context, string route, TimeProvider time, LedgerWriter ledger, Telemetry.GatewayTelemetry telemetry, ILogger logger)
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly DateTimeOffset _arrived = time.GetUtcNow();
    private bool _written;

    public string Model { get; set; } = "";

    public bool Stream { get; set; }

    /// <summary>The backend that answered (or last failed); <c>none</c> when the request was refused before routing.</summary>
    public string Backend { get; set; } = "none";

    public int PromptTokens { get; set; }

    public int CompletionTokens { get; set; }

    /// <summary>Stopwatch timestamp of the first generated text, or 0.</summary>
    public long FirstTextTimestamp { get; set; }

    public int Status { get; set; } = StatusCodes.Status200OK;

    public string? ErrorCode { get; set; }

    public string? FinishReason { get; set; }

    /// <summary>The worker's queue, prefill and decode times, when it reported them.</summary>
    public EngineTiming? Timing { get; set; }

    /// <summary>The request's trace span (null when nothing traces).</summary>
    public Activity? Activity { get; set; }

    /// <summary>The span of the call to the backend, parent of the engine phase spans.</summary>
    public Activity? UpstreamActivity { get; set; }

    public void Fail(int status, string? code)
    {
        Status = status;
        ErrorCode = code ?? "error";
    }

    /// <summary>Commits the record (once). A ledger failure is logged, never turned into an error for the client.</summary>
    public async Task CommitAsync()
    {
        if (_written)
        {
            return;
        }

        _written = true;
        var record = new UsageRecord
        {
            RequestId = context.TraceIdentifier,
            Time = _arrived,
            KeyId = EnclaveClaims.KeyIdOf(context.User),
            Model = RequestGuard.Printable(Model),
            Route = route,
            Backend = Backend,
            Stream = Stream,
            PromptTokens = PromptTokens,
            CompletionTokens = CompletionTokens,
            TimeToFirstTokenMs = FirstTextTimestamp == 0 ? null : Stopwatch.GetElapsedTime(_started, FirstTextTimestamp).TotalMilliseconds,
            LatencyMs = Stopwatch.GetElapsedTime(_started).TotalMilliseconds,
            Status = Status,
            ErrorCode = ErrorCode,
            FinishReason = FinishReason,
        };
        var metricModel = record.Status == StatusCodes.Status404NotFound ? "other" : record.Model;
        telemetry.RecordRequest(route, metricModel, record.Backend, record.Status,
            record.PromptTokens, record.CompletionTokens, record.TimeToFirstTokenMs / 1000, record.LatencyMs / 1000);
        if (Timing is { } timing)
        {
            telemetry.RecordQueueWait(metricModel, timing.QueueMs / 1000);
            Telemetry.GatewayTracing.AddEnginePhases(UpstreamActivity, timing, time.GetUtcNow().UtcDateTime);
        }

        Tag(record);
        try
        {
            // Not the request's token: an aborted request is recorded too.
            await ledger.WriteAsync(record, CancellationToken.None);
        }
        catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException or ObjectDisposedException or IOException)
        {
            LogLedgerFailed(logger, context.TraceIdentifier, ex);
        }
    }

    private void Tag(UsageRecord record)
    {
        if (Activity is not { } span)
        {
            return;
        }

        span.DisplayName = $"{Telemetry.GatewayTracing.OperationOf(route)} {record.Model}";
        span.SetTag("gen_ai.request.model", record.Model);
        span.SetTag("gen_ai.usage.input_tokens", record.PromptTokens);
        span.SetTag("gen_ai.usage.output_tokens", record.CompletionTokens);
        span.SetTag("enclave.backend", record.Backend);
        span.SetTag("enclave.key_id", record.KeyId);
        span.SetTag("enclave.stream", record.Stream);
        span.SetTag("http.response.status_code", record.Status);
        if (record.FinishReason is { } finish)
        {
            span.SetTag("gen_ai.response.finish_reasons", new[] { finish });
        }

        if (record.ErrorCode is { } code)
        {
            span.SetTag("error.type", code);
            span.SetStatus(ActivityStatusCode.Error, code);
        }
    }

    [LoggerMessage(EventId = 7010, Level = LogLevel.Error, Message = "Usage record for request {RequestId} could not be written")]
    private static partial void LogLedgerFailed(ILogger logger, string requestId, Exception error);
}
