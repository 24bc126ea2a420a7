namespace Enclave.Telemetry;

/// <summary>The <c>Telemetry</c> section.</summary>
public sealed class TelemetryOptions
{
    /// <summary>When true (the default) <c>/metrics</c> needs an admin key; false opens it to any scraper that can reach it.</summary>
    public bool MetricsRequireKey { get; set; } = true;

    /// <summary>How often the gateway reads each worker's load for the queue, sequence and KV gauges.</summary>
    public int EngineStatusIntervalMs { get; set; } = 1000;

    /// <summary>The <c>service.name</c> resource attribute on exported traces and metrics.</summary>
    public string ServiceName { get; set; } = "enclave";

    /// <summary>OTLP export of traces and metrics; off unless <see cref="OtlpOptions.Endpoint"/> is set.</summary>
    public OtlpOptions Otlp { get; set; } = new();
}

/// <summary>The <c>Telemetry:Otlp</c> section.</summary>
public sealed class OtlpOptions
{
    /// <summary>Collector base address, e.g. <c>http://otel-collector:4317</c> (grpc) or <c>http://otel-collector:4318</c> (http/protobuf).</summary>
    public string? Endpoint { get; set; }

    /// <summary><c>grpc</c> (default) or <c>http/protobuf</c>.</summary>
    public string Protocol { get; set; } = "grpc";

    /// <summary>
    /// Name of an environment variable holding extra export headers as <c>k1=v1,k2=v2</c> (for collector
    /// credentials), so secrets stay out of configuration files. The standard <c>OTEL_EXPORTER_OTLP_HEADERS</c>
    /// also works.
    /// </summary>
    public string? HeadersEnv { get; set; }

    public bool Traces { get; set; } = true;

    public bool Metrics { get; set; } = true;

    /// <summary>How often metrics are pushed and queued spans are flushed.</summary>
    public int ExportIntervalMs { get; set; } = 5000;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Endpoint);
}
