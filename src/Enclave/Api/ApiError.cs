using System.Text.Json;

namespace Enclave.Api;

/// <summary>
/// An error a client may see, rendered as OpenAI's envelope
/// <c>{"error":{"message","type","param","code"}}</c>. Immutable.
/// </summary>
public sealed record ApiError(int Status, string Type, string? Code, string Message, string? Param = null)
{
    public static ApiError BadRequest(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, "invalid_request_error", code, message, param);

    public static ApiError ModelNotFound(string model) =>
        new(StatusCodes.Status404NotFound, "invalid_request_error", "model_not_found", $"The model '{RequestGuard.Printable(model)}' does not exist or you do not have access to it.", "model");

    public static ApiError ContextLengthExceeded(int tokens, int limit, string param) =>
        new(StatusCodes.Status400BadRequest, "invalid_request_error", "context_length_exceeded",
            $"This model's maximum context length is {limit} tokens, but the request has {tokens} prompt tokens. Shorten the input.", param);

    public static ApiError QueueFull() =>
        new(StatusCodes.Status429TooManyRequests, "rate_limit_exceeded", "queue_full", "The model is at capacity and its queue is full. Retry after a short wait.");

    public static ApiError Unavailable(string message, string code = "model_unavailable") =>
        new(StatusCodes.Status503ServiceUnavailable, "server_error", code, message);

    public static ApiError NotFound(string path) =>
        new(StatusCodes.Status404NotFound, "invalid_request_error", "not_found", $"Unknown path {path}.");

    public static ApiError MethodNotAllowed(string method, string path) =>
        new(StatusCodes.Status405MethodNotAllowed, "invalid_request_error", "method_not_allowed", $"{method} is not allowed on {path}.");

    public static ApiError Internal(string requestId) =>
        new(StatusCodes.Status500InternalServerError, "server_error", "internal_error", $"The server had an error processing the request (request id {requestId}).");

    /// <summary>Writes the envelope object (used both as a response body and as a final SSE event).</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", Message);
        writer.WriteString("type", Type);
        writer.WriteString("param", Param);
        writer.WriteString("code", Code);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    public byte[] ToJsonBytes()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            WriteTo(writer);
        }

        return buffer.ToArray();
    }

    /// <summary>This error as a minimal-API result (the status and the envelope body).</summary>
    public IResult ToResult() => Results.Text(System.Text.Encoding.UTF8.GetString(ToJsonBytes()), "application/json", System.Text.Encoding.UTF8, Status);

    /// <summary>Writes this error as the whole HTTP response (429 and 503 carry Retry-After).</summary>
    public async Task WriteResponseAsync(HttpContext context)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = Status;
        context.Response.ContentType = "application/json";
        if (Status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable
            && !context.Response.Headers.ContainsKey(Microsoft.Net.Http.Headers.HeaderNames.RetryAfter))
        {
            context.Response.Headers.RetryAfter = "1";
        }

        await context.Response.Body.WriteAsync(ToJsonBytes(), context.RequestAborted);
    }
}

/// <summary>Thrown while reading a request to stop with a client-visible error.</summary>
public sealed class ApiErrorException(ApiError error) : Exception(error.Message)
{
    public ApiError Error { get; } = error;
}
