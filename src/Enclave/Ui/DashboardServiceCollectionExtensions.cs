using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Enclave.Ui;

/// <summary>
/// Registers the dashboard: <see cref="LiveStats"/>, its once-a-second gauge sampler, its assets, its response
/// headers, and the wrapper that renders a refused page request as the sign-in page.
/// </summary>
public static class DashboardServiceCollectionExtensions
{
    /// <summary>
    /// Call after <c>AddEnclaveSecurity()</c>, whose authorization result handler it wraps. Safe to call more than
    /// once. Map the endpoints with <see cref="DashboardEndpoints.MapDashboard"/>.
    /// </summary>
    public static IServiceCollection AddDashboard(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(DashboardAssets)))
        {
            return services;
        }

        var results = services.LastOrDefault(d => d.ServiceType == typeof(IAuthorizationMiddlewareResultHandler))
            ?? throw new InvalidOperationException("Call AddEnclaveSecurity() before AddDashboard(): the dashboard wraps its authorization result handler.");
        services.Remove(results);
        services.AddSingleton<IAuthorizationMiddlewareResultHandler>(sp => new DashboardAuthorizationResultHandler(Resolve(sp, results)));

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<LiveStats>();
        services.TryAddSingleton<DashboardAssets>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LiveStatsSampler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, DashboardSecurityHeaders>());
        return services;
    }

    private static IAuthorizationMiddlewareResultHandler Resolve(IServiceProvider services, ServiceDescriptor descriptor) => (IAuthorizationMiddlewareResultHandler)(
        descriptor.ImplementationInstance
        ?? descriptor.ImplementationFactory?.Invoke(services)
        ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));
}
