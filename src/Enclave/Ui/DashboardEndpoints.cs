using System.Text.Json;
using Enclave.Security.Auth;

namespace Enclave.Ui;

/// <summary>
/// The dashboard at <c>/ui</c> (admin scope; refused callers get a sign-in page, 401 or 403), sign-in and sign-out,
/// its assets, and its data under <c>/ui/api/</c> (admin scope): <c>live</c> from
/// <see cref="LiveStats"/>, and <c>workers</c>, <c>usage</c> and <c>keys</c>, which run the handlers of
/// <c>/admin/workers</c>, <c>/admin/usage</c> and <c>/admin/keys</c> themselves, so the answers are the same.
/// Those exist under <c>/ui</c> because the sign-in cookie is read nowhere else.
/// </summary>
public static class DashboardEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ServiceProvider.GetService<LiveStats>() is null)
        {
            throw new InvalidOperationException("Call AddDashboard() on the services before MapDashboard().");
        }

        var ui = app.MapGroup(ApiKeyAuthenticationHandler.DashboardPath);

        // Refused requests for the page get the sign-in page (DashboardAuthorizationResultHandler), not an envelope.
        ui.MapGet("", Page).RequireAuthorization(AuthPolicies.Admin).WithMetadata(DashboardPageMetadata.Instance);

        // Open by necessity, and carrying no gateway data: signing in and out, and the static files of both pages.
        ui.MapPost("/login", DashboardSignIn.SignInAsync).AllowAnonymous();
        ui.MapPost("/logout", DashboardSignIn.SignOut).AllowAnonymous();
        ui.MapGet("/assets/{name}", Asset).AllowAnonymous();

        var api = ui.MapGroup("/api").RequireAuthorization(AuthPolicies.Admin);
        api.MapGet("/live", (HttpContext http, LiveStats stats) =>
        {
            var seconds = int.TryParse(http.Request.Query["seconds"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var s)
                ? s
                : 300;
            return Results.Json(stats.Snapshot(seconds), Json);
        });
        api.MapGet("/workers", (HttpContext http) => AdminHandler(http, "/admin/workers")(http));
        api.MapGet("/usage", (HttpContext http) => AdminHandler(http, "/admin/usage")(http));
        api.MapGet("/keys", (HttpContext http) => AdminHandler(http, "/admin/keys")(http));
        return app;
    }

    private static IResult Page(HttpContext http, DashboardAssets assets)
    {
        var session = EnclaveClaims.KeyIdOf(http.User) == EnclaveClaims.Anonymous ? "anonymous"
            : http.Request.Headers.Authorization.Count + http.Request.Headers["x-api-key"].Count > 0 ? "key"
            : "cookie";
        return Results.Content(assets.Dashboard(session), "text/html; charset=utf-8");
    }

    private static IResult Asset(string name, HttpContext http, DashboardAssets assets)
    {
        if (!assets.TryGet(name, out var asset))
        {
            return Results.NotFound();
        }

        // Versioned URLs never change content, so they may be cached for good; any other URL is revalidated.
        http.Response.Headers.CacheControl = http.Request.Query["v"] == asset.Version ? "public, max-age=31536000, immutable" : "no-cache";
        return Results.Bytes(asset.Content, asset.ContentType);
    }

    /// <summary>The request delegate of the GET endpoint mapped at <paramref name="pattern"/>.</summary>
    private static RequestDelegate AdminHandler(HttpContext http, string pattern)
    {
        var endpoint = http.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .FirstOrDefault(e => string.Equals("/" + e.RoutePattern.RawText?.Trim('/'), pattern, StringComparison.OrdinalIgnoreCase)
                && e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.Contains(HttpMethods.Get) == true);
        return endpoint?.RequestDelegate
            ?? throw new InvalidOperationException($"The dashboard reads GET {pattern}, which is not mapped. Map the admin endpoints along with MapDashboard().");
    }
}
