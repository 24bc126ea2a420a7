using Enclave.Security.Auth;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Enclave.Telemetry;

/// <summary>
/// Registers <see cref="GatewayTelemetry"/>, the engine-load monitor, the OpenTelemetry pipeline that serves
/// <c>/metrics</c>, and, when <c>Telemetry:Otlp:Endpoint</c> is set, OTLP export of traces and metrics.
/// </summary>
public static class TelemetryServiceCollectionExtensions
{
    public static IServiceCollection AddGatewayTelemetry(this IServiceCollection services, TelemetryOptions options)
    {
        services.TryAddSingleton<GatewayTelemetry>();
        services.TryAddSingleton(options);
        services.TryAddSingleton<EngineLoadMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<EngineLoadMonitor>());
        var otlp = options.Otlp;
        var version = typeof(GatewayTelemetry).Assembly.GetName().Version?.ToString();
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(options.ServiceName, serviceVersion: version))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(GatewayTelemetry.MeterName).AddPrometheusExporter();
                if (otlp.IsConfigured && otlp.Metrics)
                {
                    metrics.AddOtlpExporter((exporter, reader) =>
                    {
                        Configure(exporter, otlp, "v1/metrics");
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = otlp.ExportIntervalMs;
                    });
                }
            });
        if (otlp.IsConfigured && otlp.Traces)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(GatewayTracing.SourceName)
                .AddSource("Microsoft.AspNetCore")
                .AddOtlpExporter(exporter =>
                {
                    Configure(exporter, otlp, "v1/traces");
                    exporter.BatchExportProcessorOptions.ScheduledDelayMilliseconds = otlp.ExportIntervalMs;
                }));
        }

        return services;
    }

    private static void Configure(OtlpExporterOptions exporter, OtlpOptions otlp, string signalPath)
    {
        var http = string.Equals(otlp.Protocol, "http/protobuf", StringComparison.OrdinalIgnoreCase);
        exporter.Protocol = http ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        var endpoint = otlp.Endpoint!.TrimEnd('/');
        // With http/protobuf a programmatic endpoint is used as given, so the signal path is added here.
        exporter.Endpoint = new Uri(http ? $"{endpoint}/{signalPath}" : endpoint);
        if (otlp.HeadersEnv is { Length: > 0 } name && Environment.GetEnvironmentVariable(name) is { Length: > 0 } headers)
        {
            exporter.Headers = headers;
        }
    }

    /// <summary>Maps <c>/metrics</c> (Prometheus text); admin scope unless <c>Telemetry:MetricsRequireKey</c> is false.</summary>
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder app, TelemetryOptions options)
    {
        var endpoint = app.MapPrometheusScrapingEndpoint("/metrics");
        if (options.MetricsRequireKey)
        {
            endpoint.RequireAuthorization(AuthPolicies.Admin);
        }
        else
        {
            endpoint.AllowAnonymous();
        }

        return app;
    }
}
