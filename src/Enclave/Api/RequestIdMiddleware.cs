namespace Enclave.Api;

/// <summary>
/// Gives every request a fresh id (kept in <see cref="HttpContext.TraceIdentifier"/>), returns it as
/// <c>x-request-id</c>, and puts it in the logging scope of everything the request logs. A client's own
/// <c>x-request-id</c> is not reused: ids key the usage ledger, and a chosen id could collide with another
/// request's record.
/// </summary>
public sealed class RequestIdMiddleware(RequestDelegate next, ILogger<RequestIdMiddleware> logger)
{
    public const string Header = "x-request-id";

    public async Task InvokeAsync(HttpContext context)
    {
        context.TraceIdentifier = "req_" + Guid.NewGuid().ToString("N");
        context.Response.Headers[Header] = context.TraceIdentifier;
        using (logger.BeginScope(new Dictionary<string, object> { ["RequestId"] = context.TraceIdentifier }))
        {
            await next(context);
        }
    }
}
