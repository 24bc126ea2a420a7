using Enclave.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Enclave.Ledger;

/// <summary>Registers the usage ledger. Safe to call more than once.</summary>
public static class LedgerServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="LedgerWriter"/> as a singleton over the <see cref="EnclaveDatabase"/> already registered
    /// (by <c>AddEnclaveSecurity</c>). The container disposes it at shutdown, which commits what is still queued.
    /// </summary>
    public static IServiceCollection AddUsageLedger(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new LedgerWriter(
            sp.GetService<EnclaveDatabase>() ?? throw new InvalidOperationException("The usage ledger needs the embedded store: call AddEnclaveSecurity(dataDirectory) before AddUsageLedger()."),
            sp.GetService<ILogger<LedgerWriter>>()));
        return services;
    }
}
