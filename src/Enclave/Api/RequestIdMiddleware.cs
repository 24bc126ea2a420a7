namespace Enclave.Api;

/// <summary>Gives every request an id (kept in <see cref="HttpContext.TraceIdentifier"/>) and returns it as <c>x-request-id</c>.</summary>
public sealed class RequestIdMiddleware(RequestDelegate next)
{
    public const string Header = "x-request-id";

    public Task InvokeAsync(HttpContext context)
    {
        var incoming = context.Request.Headers[Header].ToString();
        context.TraceIdentifier = IsAcceptable(incoming) ? incoming : "req_" + Guid.NewGuid().ToString("N");
        context.Response.Headers[Header] = context.TraceIdentifier;
        return next(context);
    }

    // Ids from a trusted caller (the gateway, a proxy) are kept when short and plain.
    private static bool IsAcceptable(string id) =>
        id.Length is > 0 and <= 128 && id.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.');
}
