using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Enclave.Ui;

/// <summary>
/// Wraps the gateway's authorization result handler so that a refused request for the dashboard page (the endpoint
/// carrying <see cref="DashboardPageMetadata"/>) gets the sign-in page instead of a JSON error envelope: 401 without
/// a valid key, 403 with a key that lacks the admin scope. The page itself stays behind the admin policy like any
/// other route; only how a refusal looks changes. Every other request goes to the wrapped handler. Stateless.
/// </summary>
internal sealed class DashboardAuthorizationResultHandler(IAuthorizationMiddlewareResultHandler inner) : IAuthorizationMiddlewareResultHandler
{
    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if ((authorizeResult.Challenged || authorizeResult.Forbidden) && context.GetEndpoint()?.Metadata.GetMetadata<DashboardPageMetadata>() is not null)
        {
            return DashboardSignIn.RefusePageAsync(context, authorizeResult.Forbidden);
        }

        return inner.HandleAsync(next, context, policy, authorizeResult);
    }
}

/// <summary>Marks the endpoint whose refusals render as the sign-in page.</summary>
internal sealed class DashboardPageMetadata
{
    public static DashboardPageMetadata Instance { get; } = new();
}
