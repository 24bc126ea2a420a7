using Enclave.Security.Auth;

namespace Enclave.Ui;

/// <summary>
/// Puts browser hardening headers on every response under <c>/ui</c>, whoever writes it (the page, an asset, the
/// sign-in page, or a 401 envelope from authorization): a CSP that allows only this origin and no inline script or
/// style, no framing, no referrer, no MIME sniffing, and <c>Cache-Control: no-store</c> unless the response chose its
/// own caching (versioned assets). Runs first in the pipeline (an <see cref="IStartupFilter"/>). Stateless.
/// </summary>
internal sealed class DashboardSecurityHeaders : IStartupFilter
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(static (context, nextMiddleware) =>
        {
            if (context.Request.Path.StartsWithSegments(ApiKeyAuthenticationHandler.DashboardPath, StringComparison.OrdinalIgnoreCase))
            {
                context.Response.OnStarting(static state => Apply(((HttpContext)state).Response), context);
            }

            return nextMiddleware(context);
        });
        next(app);
    };

    private static Task Apply(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        if (headers.CacheControl.Count == 0)
        {
            headers.CacheControl = "no-store";
        }

        return Task.CompletedTask;
    }
}
