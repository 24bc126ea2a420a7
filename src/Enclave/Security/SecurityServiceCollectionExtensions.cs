using Enclave.Security.Audit;
using Enclave.Security.Auth;
using Enclave.Security.Keys;
using Enclave.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Enclave.Security;

/// <summary>Registers the embedded store, API keys, the audit log, authentication and the scope policies.</summary>
public static class SecurityServiceCollectionExtensions
{
    public static IServiceCollection AddEnclaveSecurity(this IServiceCollection services, string dataDirectory)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(new EnclaveDatabase(dataDirectory));
        services.TryAddSingleton<IApiKeyStore>(sp => new SqliteApiKeyStore(sp.GetRequiredService<EnclaveDatabase>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IAuditLog>(sp => new SqliteAuditLog(sp.GetRequiredService<EnclaveDatabase>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<KeyPresence>();
        services.TryAddSingleton<AuthFailureLimiter>();
        services.TryAddSingleton<IAuthorizationMiddlewareResultHandler, EnvelopeAuthorizationResultHandler>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(AuthPolicies.Add);
        return services;
    }
}
