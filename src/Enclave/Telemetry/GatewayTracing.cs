using System.Diagnostics;
using Enclave.Api;

namespace Enclave.Telemetry;

/// <summary>
/// Trace spans for inference requests, under the OpenTelemetry GenAI conventions: one span per request
/// (<c>{operation} {model}</c>) under ASP.NET Core's HTTP server span (which continues a client's W3C
/// <c>traceparent</c>), one client span per upstream call (its context travels to the upstream in
/// <c>traceparent</c>), and under it the worker's queue, prefill and decode phases. Spans exist only while a
/// tracer listens (OTLP configured), so untraced requests pay nothing.
/// </summary>
public static class GatewayTracing
{
    public const string SourceName = "Enclave.Gateway";

    public static readonly ActivitySource Source = new(SourceName, typeof(GatewayTracing).Assembly.GetName().Version?.ToString());

    public static string OperationOf(string route) =>
        route.Contains("embed", StringComparison.Ordinal) ? "embeddings" : route.Contains("chat", StringComparison.Ordinal) ? "chat" : "text_completion";

    /// <summary>Starts the request span; it is named once the model is known.</summary>
    public static Activity? StartRequest(string route, string requestId)
    {
        var operation = OperationOf(route);
        var activity = Source.StartActivity(operation, ActivityKind.Internal);
        activity?.SetTag("gen_ai.operation.name", operation);
        activity?.SetTag("gen_ai.provider.name", "enclave");
        activity?.SetTag("enclave.request_id", requestId);
        return activity;
    }

    /// <summary>Starts the span of one call to a backend; while it is current, HttpClient sends its <c>traceparent</c>.</summary>
    public static Activity? StartUpstream(string backend, string model, string address)
    {
        var activity = Source.StartActivity($"upstream {backend}", ActivityKind.Client);
        activity?.SetTag("enclave.backend", backend);
        activity?.SetTag("gen_ai.request.model", model);
        activity?.SetTag("server.address", address);
        return activity;
    }

    /// <summary>
    /// Adds the engine's phases as child spans of <paramref name="parent"/>, laid back to back and ending at
    /// <paramref name="end"/> (when the gateway received the end of the response).
    /// </summary>
    public static void AddEnginePhases(Activity? parent, EngineTiming timing, DateTime end)
    {
        if (parent is null)
        {
            return;
        }

        var decodeStart = end - TimeSpan.FromMilliseconds(timing.DecodeMs);
        var prefillStart = decodeStart - TimeSpan.FromMilliseconds(timing.PrefillMs);
        var queueStart = prefillStart - TimeSpan.FromMilliseconds(timing.QueueMs);
        Phase(parent, "queue", queueStart, prefillStart);
        Phase(parent, "prefill", prefillStart, decodeStart);
        Phase(parent, "decode", decodeStart, end);
    }

    private static void Phase(Activity parent, string name, DateTime start, DateTime end)
    {
        using var span = Source.StartActivity(name, ActivityKind.Internal, parent.Context, startTime: start);
        // A zero-length phase still ends at its own start, not at the time the span object is disposed.
        span?.SetEndTime(end > start ? end : start.AddTicks(1));
    }
}
