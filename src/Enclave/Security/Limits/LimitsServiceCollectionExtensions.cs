using Enclave.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Enclave.Security.Limits;

/// <summary>Registers per-key limits. Safe to call more than once.</summary>
public static class LimitsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="KeyLimiter"/> as a singleton (and <see cref="TimeProvider.System"/> unless one is
    /// registered). It needs an <see cref="EnclaveDatabase"/> singleton, for example from <c>AddEnclaveSecurity</c>.
    /// Its table is created on first use, or at startup by awaiting <see cref="KeyLimiter.InitializeAsync"/>.
    /// </summary>
    public static IServiceCollection AddKeyLimits(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new KeyLimiter(
            sp.GetService<EnclaveDatabase>()
                ?? throw new InvalidOperationException("KeyLimiter needs an EnclaveDatabase: call AddEnclaveSecurity() (or register an EnclaveDatabase singleton) before resolving KeyLimiter."),
            sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}
