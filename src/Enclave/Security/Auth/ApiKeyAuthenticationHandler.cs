using System.Text.Encodings.Web;
using Enclave.Security.Keys;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Enclave.Security.Auth;

/// <summary>
/// Authenticates <c>Authorization: Bearer KEY</c> or <c>x-api-key: KEY</c> against the key store. With no key in
/// the store (and, checked at start-up, loopback addresses only) callers are served as <c>anonymous</c>. Unknown,
/// revoked, expired and malformed keys all fail the same way, and nothing of the presented key is echoed. The
/// dashboard's sign-in cookie (<see cref="DashboardCookie"/>) counts as a key only on GET requests under
/// <see cref="DashboardPath"/>, and only when no header carries one.
/// </summary>
public sealed partial class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IApiKeyStore store,
    KeyPresence presence)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    /// <summary>The authenticated <see cref="ApiKeyRecord"/> (absent for anonymous callers), for limits and metering.</summary>
    public const string KeyItem = "enclave:key";

    /// <summary>Set on the context when authentication failed, so the 401 renderer and the audit log can say why.</summary>
    public const string FailureItem = "enclave:auth_failure";

    /// <summary>The HttpOnly cookie in which the dashboard's sign-in keeps the admin key for a browser session.</summary>
    public const string DashboardCookie = "enclave_ui";

    /// <summary>The only path (and its sub-paths) where <see cref="DashboardCookie"/> is read.</summary>
    public const string DashboardPath = "/ui";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // With no key in the store everyone is anonymous, whatever they send: clients such as the OpenAI SDKs
        // insist on sending some key. Start-up only allows this on loopback addresses.
        if (!await presence.AnyAsync(Context.RequestAborted))
        {
            return Success(EnclaveClaims.ForAnonymous());
        }

        var authorization = Request.Headers.Authorization;
        var apiKey = Request.Headers["x-api-key"];
        if (authorization.Count == 0 && apiKey.Count == 0)
        {
            // A browser cannot put a header on a navigation, so the dashboard's cookie stands in for one, but only
            // for reads under /ui: never on /v1/* or other paths, and never for a method a cross-site form could
            // send (CSRF).
            if (HttpMethods.IsGet(Request.Method) && Request.Path.StartsWithSegments(DashboardPath, StringComparison.OrdinalIgnoreCase)
                && Request.Cookies[DashboardCookie] is { Length: > 0 } cookie)
            {
                return await AuthenticateKeyAsync(cookie.Trim());
            }

            return Fail("missing");
        }

        if (authorization.Count + apiKey.Count > 1)
        {
            return Fail("ambiguous");
        }

        string? presented;
        if (authorization.Count == 1)
        {
            var value = authorization[0] ?? "";
            presented = value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? value["Bearer ".Length..].Trim() : null;
        }
        else
        {
            presented = apiKey[0]?.Trim();
        }

        if (string.IsNullOrEmpty(presented))
        {
            return Fail("malformed");
        }

        return await AuthenticateKeyAsync(presented);
    }

    private async Task<AuthenticateResult> AuthenticateKeyAsync(string presented)
    {
        var key = await store.AuthenticateAsync(presented, Context.RequestAborted);
        if (key is null)
        {
            return Fail("invalid");
        }

        Context.Items[KeyItem] = key;
        return Success(EnclaveClaims.ForKey(key));
    }

    private static AuthenticateResult Success(System.Security.Claims.ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));

    private AuthenticateResult Fail(string reason)
    {
        Context.Items[FailureItem] = reason;
        return AuthenticateResult.Fail("Invalid API key.");
    }
}
