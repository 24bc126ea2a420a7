using System.Text.Json;
using Enclave.Api;
using Enclave.Security.Auth;
using Enclave.Storage;

namespace Enclave.Ledger;

/// <summary>
/// <c>GET /admin/usage?since=...&amp;by=key|model|backend|day</c> (admin scope only): the same totals as
/// <c>enclave usage --json</c>, as <c>{"by":..,"since":..,"rows":[..]}</c>. A bad <c>since</c> or <c>by</c> is a 400
/// envelope naming the parameter. Stateless; safe to map once per app.
/// </summary>
public static class AdminUsageEndpoints
{
    internal static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public static IEndpointRouteBuilder MapAdminUsage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/usage", async (HttpContext http, EnclaveDatabase db, TimeProvider time, CancellationToken ct) =>
        {
            var query = http.Request.Query;
            var byText = query["by"].ToString();
            var by = UsageGrouping.Key;
            if (query.ContainsKey("by") && !LedgerQueries.TryParseGrouping(byText, out by))
            {
                return ApiError.BadRequest($"by '{RequestGuard.Printable(byText)}' is not a grouping. {LedgerQueries.ByHelp}", "by").ToResult();
            }

            DateTimeOffset? since = null;
            if (query.ContainsKey("since"))
            {
                var sinceText = query["since"].ToString();
                if (!LedgerQueries.TryParseSince(sinceText, time.GetUtcNow(), out var parsed))
                {
                    return ApiError.BadRequest($"since '{RequestGuard.Printable(sinceText)}' is not a time. {LedgerQueries.SinceHelp}", "since").ToResult();
                }

                since = parsed;
            }

            var rows = await LedgerQueries.UsageAsync(db, since, by, ct);
            return Results.Json(new UsageReport(by.ToString().ToLowerInvariant(), since, rows), Json);
        }).RequireAuthorization(AuthPolicies.Admin);
        return app;
    }
}
