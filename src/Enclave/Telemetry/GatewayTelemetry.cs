using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace Enclave.Telemetry;

/// <summary>
/// Every metric the gateway emits, in one place, with OpenTelemetry GenAI semantic-convention names where they
/// exist and explicit histogram buckets. Model names come from configuration, so they are bounded; key ids are
/// never labels. Thread-safe.
/// </summary>
public sealed class GatewayTelemetry : IDisposable
{
    public const string MeterName = "Enclave.Gateway";

    // Seconds. TTFT spans tiny local models (ms) to queued large ones (tens of seconds).
    private static readonly double[] TtftBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private static readonly double[] DurationBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
    private static readonly double[] PerTokenBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5];
    private static readonly double[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144];

    private readonly Meter _meter = new(MeterName, typeof(GatewayTelemetry).Assembly.GetName().Version?.ToString());
    private readonly Histogram<long> _tokens;
    private readonly Histogram<double> _ttft;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _perToken;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _authRejections;
    private readonly Counter<long> _limitRejections;
    private readonly Histogram<double> _queueWait;
    private readonly Counter<long> _upstreamFailures;
    private Func<IReadOnlyList<ModelLoad>> _models = () => [];

    public GatewayTelemetry()
    {
        _tokens = _meter.CreateHistogram("gen_ai.client.token.usage", "{token}", "Tokens used per request, by type (input or output).",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [.. TokenBuckets.Select(b => (long)b)] });
        _ttft = _meter.CreateHistogram("gen_ai.server.time_to_first_token", "s", "Time from request arrival to the first generated text.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TtftBuckets });
        _duration = _meter.CreateHistogram("gen_ai.server.request.duration", "s", "Time from request arrival to the end of the response.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _perToken = _meter.CreateHistogram("gen_ai.server.time_per_output_token", "s", "Decode time per output token after the first.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = PerTokenBuckets });
        _requests = _meter.CreateCounter<long>("enclave.requests", "{request}", "Requests by route, model, backend and status.");
        _authRejections = _meter.CreateCounter<long>("enclave.auth.rejections", "{request}", "Requests refused by authentication or authorization.");
        _limitRejections = _meter.CreateCounter<long>("enclave.ratelimit.rejections", "{request}", "Requests refused by a per-key limit, by limit kind.");
        _upstreamFailures = _meter.CreateCounter<long>("enclave.upstream.failures", "{attempt}", "Failed attempts on a backend before the first byte, by backend and kind (retried or failed over).");
        _queueWait = _meter.CreateHistogram("enclave.queue.wait", "s", "Time a request waited in its model's admission queue for a slot.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TtftBuckets });
        _meter.CreateObservableGauge("enclave.queue.depth", () => Loads<long>(l => l.Engine?.QueuedRequests), "{request}", "Requests waiting for a slot, per model.");
        _meter.CreateObservableGauge("enclave.sequences.active", () => Loads<long>(l => l.Engine?.ActiveSequences), "{sequence}", "Sequences being generated, per model.");
        _meter.CreateObservableGauge("enclave.sequences.slots", () => Loads<long>(l => l.Engine?.Slots), "{sequence}", "Concurrent sequences each model's engine can run.");
        _meter.CreateObservableGauge("enclave.kv_cache.usage", () => Loads<double>(l => l.Engine is { KvCellsTotal: > 0 } e ? (double)e.KvCellsUsed / e.KvCellsTotal : null), "1", "Share of each model's KV cache cells in use (0 to 1).");
        _meter.CreateObservableGauge("enclave.worker.up", () => Loads<long>(l => l.Up ? 1 : 0), description: "1 when the model's worker is ready, else 0.");
        _meter.CreateObservableGauge("enclave.model.loaded", () => Loads<long>(l => l.Resident ? 1 : 0), description: "1 while the model is meant to be in memory (loaded, loading or restarting), 0 while it is unloaded on purpose (idle keep-alive or memory budget).");
        _meter.CreateObservableCounter("enclave.worker.restarts", () => Loads<long>(l => l.Restarts), "{restart}", "Times each model's worker was restarted after it died.");
        var version = typeof(GatewayTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        _meter.CreateObservableGauge("enclave.build.info", () => new Measurement<int>(1, new KeyValuePair<string, object?>("version", version)), description: "Build information.");
    }

    /// <summary>Records one finished request.</summary>
    public void RecordRequest(string route, string model, string backend, int status, int promptTokens, int completionTokens, double? ttftSeconds, double durationSeconds)
    {
        var operation = GatewayTracing.OperationOf(route);
        _requests.Add(1, new TagList { { "route", route }, { "gen_ai.request.model", model }, { "backend", backend }, { "status", status } });
        // Tokens count whenever some were used (a stream the client closed half-way still used them), so the
        // token sums equal the ledger's; latency histograms take successful requests only.
        if (status < 400 || promptTokens + completionTokens > 0)
        {
            _tokens.Record(promptTokens, new("gen_ai.token.type", "input"), new("gen_ai.request.model", model), new("gen_ai.operation.name", operation));
            _tokens.Record(completionTokens, new("gen_ai.token.type", "output"), new("gen_ai.request.model", model), new("gen_ai.operation.name", operation));
        }

        if (status >= 400)
        {
            return;
        }

        _duration.Record(durationSeconds, new("gen_ai.request.model", model), new("gen_ai.operation.name", operation));
        if (ttftSeconds is { } ttft)
        {
            _ttft.Record(ttft, new("gen_ai.request.model", model), new("gen_ai.operation.name", operation));
            if (completionTokens > 1)
            {
                _perToken.Record((durationSeconds - ttft) / (completionTokens - 1), new("gen_ai.request.model", model), new("gen_ai.operation.name", operation));
            }
        }
    }

    /// <summary>A failed attempt on a backend (it was retried, failed over, or ended the request).</summary>
    public void RecordUpstreamFailure(string backend, string kind) =>
        _upstreamFailures.Add(1, new KeyValuePair<string, object?>("backend", backend), new KeyValuePair<string, object?>("kind", kind));

    /// <summary>Time a request spent in a worker's admission queue.</summary>
    public void RecordQueueWait(string model, double seconds) => _queueWait.Record(seconds, new KeyValuePair<string, object?>("gen_ai.request.model", model));

    /// <summary>Sets where the per-model gauges read from (the engine-load monitor).</summary>
    public void ObserveModels(Func<IReadOnlyList<ModelLoad>> source) => _models = source;

    /// <summary>One measurement per model that has a value, labelled with the model.</summary>
    private IEnumerable<Measurement<T>> Loads<T>(Func<ModelLoad, T?> value)
        where T : struct
    {
        foreach (var load in _models())
        {
            if (value(load) is { } v)
            {
                yield return new Measurement<T>(v, new KeyValuePair<string, object?>("gen_ai.request.model", load.Model));
            }
        }
    }

    public void RecordAuthRejection(int status) => _authRejections.Add(1, new KeyValuePair<string, object?>("status", status));

    public void RecordLimitRejection(string kind) => _limitRejections.Add(1, new KeyValuePair<string, object?>("limit", kind));

    public void Dispose() => _meter.Dispose();
}
