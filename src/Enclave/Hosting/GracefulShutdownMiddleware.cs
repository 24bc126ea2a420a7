namespace Enclave.Hosting;

/// <summary>
/// Counts every request in and out for <see cref="GracefulShutdown"/>, and while it drains answers new ones with 503
/// <c>server_shutting_down</c>, <c>Retry-After</c> and <c>Connection: close</c>. The probes (<c>/healthz</c>,
/// <c>/readyz</c>) and <c>/metrics</c> still answer then, uncounted, so an orchestrator can watch the drain.
/// Refused requests have no usage record: like an unauthenticated request, they never reach a model.
/// </summary>
public sealed class GracefulShutdownMiddleware(RequestDelegate next, GracefulShutdown shutdown)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!shutdown.TryEnter(context))
        {
            if (IsProbe(context.Request.Path))
            {
                await next(context);
                return;
            }

            context.Response.Headers.Connection = "close";
            context.Response.Headers.RetryAfter = GracefulShutdown.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await GracefulShutdown.ShuttingDown.WriteResponseAsync(context);
            return;
        }

        try
        {
            await next(context);
        }
        finally
        {
            shutdown.Exit(context);
        }
    }

    private static bool IsProbe(PathString path) =>
        path.Equals("/healthz", StringComparison.OrdinalIgnoreCase) || path.Equals("/readyz", StringComparison.OrdinalIgnoreCase)
        || path.Equals("/metrics", StringComparison.OrdinalIgnoreCase);
}
