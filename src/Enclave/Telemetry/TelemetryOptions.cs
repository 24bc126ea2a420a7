namespace Enclave.Telemetry;

/// <summary>The <c>Telemetry</c> section.</summary>
public sealed class TelemetryOptions
{
    /// <summary>When true (the default) <c>/metrics</c> needs an admin key; false opens it to any scraper that can reach it.</summary>
    public bool MetricsRequireKey { get; set; } = true;
}
