using Enclave.Security.Keys;
using Microsoft.AspNetCore.Authorization;

namespace Enclave.Security.Auth;

/// <summary>
/// One authorization policy per scope. Every endpoint names one of these (or is explicitly anonymous:
/// <c>/healthz</c>, <c>/readyz</c>, and the dashboard's sign-in, sign-out and static files, none of which carry data);
/// the fallback policy denies anything that forgets.
/// </summary>
public static class AuthPolicies
{
    public const string Inference = "scope:" + Scopes.Inference;
    public const string Embeddings = "scope:" + Scopes.Embeddings;
    public const string Models = "scope:" + Scopes.Models;
    public const string Admin = "scope:" + Scopes.Admin;

    /// <summary>Any valid key, whatever its scopes (used for the 404 fallback).</summary>
    public const string AnyKey = "any-key";

    public static void Add(AuthorizationOptions options)
    {
        foreach (var scope in Scopes.All)
        {
            options.AddPolicy("scope:" + scope, p => p.RequireAuthenticatedUser().RequireClaim(EnclaveClaims.Scope, scope));
        }

        options.AddPolicy(AnyKey, p => p.RequireAuthenticatedUser());
        options.FallbackPolicy = options.GetPolicy(Admin);
    }
}
