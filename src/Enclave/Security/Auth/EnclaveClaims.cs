using System.Security.Claims;
using Enclave.Security.Keys;

namespace Enclave.Security.Auth;

/// <summary>Claim names on an authenticated caller, and how to read them back.</summary>
public static class EnclaveClaims
{
    public const string KeyId = "enclave:key_id";
    public const string Scope = "enclave:scope";
    public const string ModelClaim = "enclave:model";
    public const string Anonymous = "anonymous";

    public static ClaimsPrincipal ForKey(ApiKeyRecord key)
    {
        var claims = new List<Claim> { new(KeyId, key.Id), new(ClaimTypes.Name, key.Name) };
        claims.AddRange(key.Scopes.Select(s => new Claim(Scope, s)));
        claims.AddRange(key.Models.Select(m => new Claim(ModelClaim, m)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyAuthenticationHandler.SchemeName));
    }

    /// <summary>Loopback with no keys in the store: every scope, every model.</summary>
    public static ClaimsPrincipal ForAnonymous()
    {
        var claims = new List<Claim> { new(KeyId, Anonymous), new(ClaimTypes.Name, Anonymous), new(ModelClaim, "*") };
        claims.AddRange(Scopes.All.Select(s => new Claim(Scope, s)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyAuthenticationHandler.SchemeName));
    }

    public static string KeyIdOf(ClaimsPrincipal user) => user.FindFirst(KeyId)?.Value ?? Anonymous;

    /// <summary>True when the caller's model globs allow <paramref name="model"/>.</summary>
    public static bool CanUseModel(ClaimsPrincipal user, string model) =>
        ModelGlob.Matches(user.FindAll(ModelClaim).Select(c => c.Value).ToArray(), model);
}
