using System.Text.Json;
using Enclave.Api;
using Enclave.Security.Audit;
using Enclave.Security.Auth;

namespace Enclave.Security.Keys;

/// <summary>
/// The admin HTTP API for keys (<c>/admin/keys</c>, admin scope only): the same operations as
/// <c>enclave keys</c>. A secret appears once, in the create or rotate response. Every change is audited.
/// </summary>
public static class AdminKeysEndpoints
{
    public static IEndpointRouteBuilder MapAdminKeys(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/keys").RequireAuthorization(AuthPolicies.Admin);
        group.MapGet("", async (IApiKeyStore store, CancellationToken ct) =>
            Results.Json(new { data = (await store.ListAsync(ct)).Select(Describe).ToArray() }));
        group.MapGet("/{id}", async (string id, IApiKeyStore store, CancellationToken ct) =>
            await store.GetAsync(id, ct) is { } key ? Results.Json(Describe(key)) : NotFound(id));
        group.MapPost("", CreateAsync);
        group.MapDelete("/{id}", async (string id, HttpContext http, IApiKeyStore store, IAuditLog audit, CancellationToken ct) =>
        {
            if (!await store.RevokeAsync(id, ct))
            {
                return NotFound(id);
            }

            await audit.AppendAsync(Event(http, "keys.revoke", id), ct);
            return Results.Json(new { id, revoked = true });
        });
        group.MapPost("/{id}/rotate", async (string id, HttpContext http, IApiKeyStore store, IAuditLog audit, CancellationToken ct) =>
        {
            var grace = TimeSpan.Zero;
            if (http.Request.ContentLength is > 0)
            {
                using var doc = await JsonRequest.ParseBodyAsync(http.Request, 8, ct);
                grace = TimeSpan.FromSeconds(new JsonRequest(doc.RootElement).WholeNumber("grace_seconds", 0, 365L * 24 * 3600) ?? 0);
            }

            if (await store.RotateAsync(id, grace, ct) is not { } issued)
            {
                return NotFound(id);
            }

            await audit.AppendAsync(Event(http, "keys.rotate", id, new() { ["new_id"] = issued.Key.Id, ["grace_seconds"] = ((long)grace.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) }), ct);
            return Results.Json(Issued(issued), statusCode: StatusCodes.Status201Created);
        });
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpContext http, IApiKeyStore store, IAuditLog audit, CancellationToken ct)
    {
        CreateKeyRequest request;
        try
        {
            using var doc = await JsonRequest.ParseBodyAsync(http.Request, 8, ct);
            request = ReadCreate(new JsonRequest(doc.RootElement));
        }
        catch (ApiErrorException ex)
        {
            return ex.Error.ToResult();
        }

        try
        {
            var issued = await store.CreateAsync(request, ct);
            await audit.AppendAsync(Event(http, "keys.create", issued.Key.Id, new() { ["name"] = issued.Key.Name }), ct);
            return Results.Json(Issued(issued), statusCode: StatusCodes.Status201Created);
        }
        catch (ArgumentException ex)
        {
            return ApiError.BadRequest(ex.Message).ToResult();
        }
    }

    private static CreateKeyRequest ReadCreate(JsonRequest body)
    {
        var period = body.Has("budget_period") ? body.RequiredString("budget_period") : null;
        return new CreateKeyRequest
        {
            Name = body.RequiredString("name"),
            Models = body.Strings("models"),
            Scopes = body.Strings("scopes"),
            RequestsPerMinute = (int?)body.WholeNumber("rpm", 1, int.MaxValue),
            TokensPerMinute = (int?)body.WholeNumber("tpm", 1, int.MaxValue),
            Concurrency = (int?)body.WholeNumber("concurrency", 1, int.MaxValue),
            TokenBudget = body.WholeNumber("token_budget", 1, long.MaxValue),
            BudgetPeriod = period switch
            {
                null => null,
                "day" => BudgetPeriod.Day,
                "month" => BudgetPeriod.Month,
                _ => throw JsonRequest.Bad("Invalid value for 'budget_period': use 'day' or 'month'.", "budget_period"),
            },
            ExpiresAfter = body.WholeNumber("expires_in_seconds", 1, 100L * 365 * 24 * 3600) is { } s ? TimeSpan.FromSeconds(s) : null,
        };
    }

    private static object Issued(IssuedKey issued) => new { id = issued.Key.Id, key = issued.Secret, details = Describe(issued.Key) };

    /// <summary>A key as admins see it: settings and state, never the secret or its hash.</summary>
    public static object Describe(ApiKeyRecord key) => new
    {
        id = key.Id,
        name = key.Name,
        models = key.Models,
        scopes = key.Scopes,
        rpm = key.RequestsPerMinute,
        tpm = key.TokensPerMinute,
        concurrency = key.Concurrency,
        token_budget = key.TokenBudget,
        budget_period = key.BudgetPeriod?.ToString().ToLowerInvariant(),
        created_at = key.CreatedAt,
        expires_at = key.ExpiresAt,
        revoked_at = key.RevokedAt,
    };

    private static IResult NotFound(string id) =>
        new ApiError(StatusCodes.Status404NotFound, "invalid_request_error", "not_found", $"No key with id '{RequestGuard.Printable(id)}'.").ToResult();



    private static AuditEvent Event(HttpContext http, string action, string target, Dictionary<string, string>? details = null) => new(
        action,
        EnclaveClaims.KeyIdOf(http.User),
        "ok",
        target,
        http.TraceIdentifier,
        http.Connection.RemoteIpAddress?.ToString(),
        details);
}
