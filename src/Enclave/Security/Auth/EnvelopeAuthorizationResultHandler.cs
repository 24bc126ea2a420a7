using Enclave.Api;
using Enclave.Security.Audit;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Enclave.Security.Auth;

/// <summary>
/// Renders authentication and authorization failures as OpenAI error envelopes (401 <c>invalid_api_key</c>,
/// 403 <c>insufficient_scope</c>) and records each one in the audit log. The body never echoes the key.
/// </summary>
public sealed class EnvelopeAuthorizationResultHandler(IAuditLog audit, AuthFailureLimiter failures, Telemetry.GatewayTelemetry telemetry) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged)
        {
            var reason = context.Items[ApiKeyAuthenticationHandler.FailureItem] as string ?? "missing";
            await audit.AppendAsync(Event(context, "auth.failure", "denied", reason), context.RequestAborted);
            telemetry.RecordAuthRejection(StatusCodes.Status401Unauthorized);
            if (failures.RecordFailure(context.Connection.RemoteIpAddress) is { } wait)
            {
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await new ApiError(StatusCodes.Status429TooManyRequests, "requests", "rate_limit_exceeded",
                    "Too many failed authentication attempts from this address. Wait before retrying.").WriteResponseAsync(context);
                return;
            }

            context.Response.Headers.WWWAuthenticate = "Bearer";
            await new ApiError(StatusCodes.Status401Unauthorized, "invalid_request_error", "invalid_api_key",
                "Invalid or missing API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.").WriteResponseAsync(context);
            return;
        }

        if (authorizeResult.Forbidden)
        {
            var needed = string.Join(", ", policy.Requirements.OfType<Microsoft.AspNetCore.Authorization.Infrastructure.ClaimsAuthorizationRequirement>()
                .SelectMany(r => r.AllowedValues ?? []));
            await audit.AppendAsync(Event(context, "auth.forbidden", "denied", "scope " + needed), context.RequestAborted);
            telemetry.RecordAuthRejection(StatusCodes.Status403Forbidden);
            await new ApiError(StatusCodes.Status403Forbidden, "permission_error", "insufficient_scope",
                $"This API key lacks the '{needed}' scope required by this endpoint.").WriteResponseAsync(context);
            return;
        }

        await _default.HandleAsync(next, context, policy, authorizeResult);
    }

    private static AuditEvent Event(HttpContext context, string action, string outcome, string reason) => new(
        action,
        context.User.Identity?.IsAuthenticated == true ? EnclaveClaims.KeyIdOf(context.User) : "unauthenticated",
        outcome,
        Target: context.Request.Method + " " + context.Request.Path.Value,
        RequestId: context.TraceIdentifier,
        RemoteAddress: context.Connection.RemoteIpAddress?.ToString(),
        Details: new Dictionary<string, string> { ["reason"] = reason });
}
