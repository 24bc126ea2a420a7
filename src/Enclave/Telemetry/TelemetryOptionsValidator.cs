using Enclave.Hosting;

namespace Enclave.Telemetry;

/// <summary>Checks the <c>Telemetry</c> section at start-up; a bad value stops the gateway with the setting and the fix.</summary>
public static class TelemetryOptionsValidator
{
    public static void Validate(TelemetryOptions options)
    {
        if (options.EngineStatusIntervalMs is < 100 or > 60_000)
        {
            throw new ConfigurationException($"Telemetry:EngineStatusIntervalMs is {options.EngineStatusIntervalMs}; give 100 to 60000 milliseconds.");
        }

        var otlp = options.Otlp;
        if (!otlp.IsConfigured)
        {
            return;
        }

        if (!Uri.TryCreate(otlp.Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ConfigurationException($"Telemetry:Otlp:Endpoint '{otlp.Endpoint}' is not an http:// or https:// address; give the collector's base address, e.g. http://otel-collector:4317.");
        }

        if (!string.Equals(otlp.Protocol, "grpc", StringComparison.OrdinalIgnoreCase) && !string.Equals(otlp.Protocol, "http/protobuf", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigurationException($"Telemetry:Otlp:Protocol '{otlp.Protocol}' is not supported; use grpc or http/protobuf.");
        }

        if (otlp.ExportIntervalMs is < 100 or > 600_000)
        {
            throw new ConfigurationException($"Telemetry:Otlp:ExportIntervalMs is {otlp.ExportIntervalMs}; give 100 to 600000 milliseconds.");
        }
    }
}
