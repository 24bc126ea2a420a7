using Enclave.Security.Auth;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;

namespace Enclave.Telemetry;

/// <summary>Registers <see cref="GatewayTelemetry"/> and the OpenTelemetry pipeline that serves <c>/metrics</c>.</summary>
public static class TelemetryServiceCollectionExtensions
{
    public static IServiceCollection AddGatewayTelemetry(this IServiceCollection services)
    {
        services.TryAddSingleton<GatewayTelemetry>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(GatewayTelemetry.MeterName).AddPrometheusExporter());
        return services;
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
