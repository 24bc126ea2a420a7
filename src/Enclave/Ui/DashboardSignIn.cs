using System.Globalization;
using Enclave.Security.Audit;
using Enclave.Security.Auth;
using Enclave.Security.Keys;
using Enclave.Telemetry;

namespace Enclave.Ui;

/// <summary>
/// Sign-in and sign-out for the dashboard. Signing in checks the posted key (active, with the admin scope) and puts
/// it in an HttpOnly, SameSite=Strict cookie limited to <c>/ui</c> (Secure over HTTPS), which the authentication
/// handler accepts on GET requests under <c>/ui</c> only. A refused key counts as an authentication failure: audited,
/// counted in <c>enclave.auth.rejections</c>, and subject to the per-address failure limit. Requests a browser marks
/// as coming from another site are refused. Stateless.
/// </summary>
internal static class DashboardSignIn
{
    /// <summary>Longest form body read; a key is 60 characters.</summary>
    private const long MaxFormBytes = 4096;

    public static async Task SignInAsync(HttpContext http, IApiKeyStore store, IAuditLog audit)
    {
        if (!IsSameOrigin(http.Request))
        {
            await WriteLoginAsync(http, StatusCodes.Status403Forbidden, "Sign-in must come from the dashboard's own page.");
            return;
        }

        var presented = await ReadKeyAsync(http.Request, http.RequestAborted);
        var key = string.IsNullOrEmpty(presented) ? null : await store.AuthenticateAsync(presented, http.RequestAborted);
        if (key is null || !key.HasScope(Scopes.Admin))
        {
            await RejectAsync(http, key is null ? (string.IsNullOrEmpty(presented) ? "missing" : "invalid") : "scope " + Scopes.Admin,
                "That is not an active API key with the admin scope.");
            return;
        }

        await audit.AppendAsync(Event(http, "ui.login", key.Id, "success", null), http.RequestAborted);
        http.Response.Cookies.Append(ApiKeyAuthenticationHandler.DashboardCookie, presented!, CookieOptions(http.Request));
        SeeOther(http.Response);
    }

    public static void SignOut(HttpContext http)
    {
        if (!IsSameOrigin(http.Request))
        {
            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        http.Response.Cookies.Delete(ApiKeyAuthenticationHandler.DashboardCookie, CookieOptions(http.Request));
        SeeOther(http.Response);
    }

    /// <summary>
    /// Answers a refused request for the dashboard page. A visit without any credential just gets the sign-in page
    /// (401); a credential that does not authenticate (a revoked key in the cookie) is a failure like any other; a key
    /// without the admin scope is audited and counted as forbidden, like the gateway's other routes, and gets 403.
    /// </summary>
    public static async Task RefusePageAsync(HttpContext http, bool forbidden)
    {
        if (forbidden)
        {
            var services = http.RequestServices;
            await services.GetRequiredService<IAuditLog>().AppendAsync(
                Event(http, "auth.forbidden", EnclaveClaims.KeyIdOf(http.User), "denied", "scope " + Scopes.Admin), http.RequestAborted);
            services.GetRequiredService<GatewayTelemetry>().RecordAuthRejection(StatusCodes.Status403Forbidden);
            await WriteLoginAsync(http, StatusCodes.Status403Forbidden, "This API key lacks the admin scope the dashboard needs.");
            return;
        }

        var reason = http.Items[ApiKeyAuthenticationHandler.FailureItem] as string ?? "missing";
        if (reason == "missing")
        {
            await WriteLoginAsync(http, StatusCodes.Status401Unauthorized, null);
            return;
        }

        await RejectAsync(http, reason, "Your key is no longer valid. Sign in again.");
    }

    /// <summary>Audits and counts a refused credential, then answers with the sign-in page (401) or, past the failure limit, 429.</summary>
    private static async Task RejectAsync(HttpContext http, string reason, string message)
    {
        var services = http.RequestServices;
        await services.GetRequiredService<IAuditLog>().AppendAsync(Event(http, "auth.failure", "unauthenticated", "denied", reason), http.RequestAborted);
        services.GetRequiredService<GatewayTelemetry>().RecordAuthRejection(StatusCodes.Status401Unauthorized);
        if (services.GetRequiredService<AuthFailureLimiter>().RecordFailure(http.Connection.RemoteIpAddress) is { } wait)
        {
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            await WriteLoginAsync(http, StatusCodes.Status429TooManyRequests, "Too many failed sign-ins from this address. Wait a minute before trying again.");
            return;
        }

        // A cookie that no longer authenticates is dropped, so the browser stops sending it.
        if (http.Request.Cookies.ContainsKey(ApiKeyAuthenticationHandler.DashboardCookie))
        {
            http.Response.Cookies.Delete(ApiKeyAuthenticationHandler.DashboardCookie, CookieOptions(http.Request));
        }

        await WriteLoginAsync(http, StatusCodes.Status401Unauthorized, message);
    }

    private static Task WriteLoginAsync(HttpContext http, int status, string? message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "text/html; charset=utf-8";
        return http.Response.WriteAsync(http.RequestServices.GetRequiredService<DashboardAssets>().Login(message), http.RequestAborted);
    }

    // 303, so the browser follows a POST with a GET of the page.
    private static void SeeOther(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status303SeeOther;
        response.Headers.Location = ApiKeyAuthenticationHandler.DashboardPath;
    }

    private static CookieOptions CookieOptions(HttpRequest request) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = request.IsHttps,
        Path = ApiKeyAuthenticationHandler.DashboardPath,
    };

    private static async Task<string?> ReadKeyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasFormContentType || request.ContentLength is null or > MaxFormBytes)
        {
            return null;
        }

        var form = await request.ReadFormAsync(cancellationToken);
        return form["key"].ToString().Trim();
    }

    /// <summary>
    /// True unless the browser says the request comes from another site. Browsers send <c>Sec-Fetch-Site</c>, which a
    /// page cannot forge; with <c>Referrer-Policy: no-referrer</c> they send <c>Origin: null</c> even for this page's
    /// own form, so <c>Origin</c> decides only for clients that send no <c>Sec-Fetch-Site</c>.
    /// </summary>
    private static bool IsSameOrigin(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0)
        {
            return site is "same-origin" or "none";
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }

        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && string.Equals(uri.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    private static AuditEvent Event(HttpContext http, string action, string actor, string outcome, string? reason) => new(
        action,
        actor,
        outcome,
        Target: http.Request.Method + " " + http.Request.Path.Value,
        RequestId: http.TraceIdentifier,
        RemoteAddress: http.Connection.RemoteIpAddress?.ToString(),
        Details: reason is null ? null : new Dictionary<string, string> { ["reason"] = reason });
}
