using System.Text.Json;

namespace Enclave.Api.Ollama;

/// <summary>
/// Errors in Ollama's shape, <c>{"error":"message"}</c>, made from the gateway's <see cref="ApiError"/> catalogue so
/// status codes stay the same on both surfaces. Messages that name an OpenAI field are rewritten to the Ollama field
/// the client sent. Stateless and thread-safe.
/// </summary>
internal static class OllamaError
{
    // OpenAI request fields the translation produces, and the Ollama fields they came from.
    private static readonly Dictionary<string, string> FieldNames = new(StringComparer.Ordinal)
    {
        ["max_tokens"] = "options.num_predict",
        ["temperature"] = "options.temperature",
        ["top_p"] = "options.top_p",
        ["top_k"] = "options.top_k",
        ["min_p"] = "options.min_p",
        ["seed"] = "options.seed",
        ["stop"] = "options.stop",
        ["repeat_penalty"] = "options.repeat_penalty",
        ["presence_penalty"] = "options.presence_penalty",
        ["frequency_penalty"] = "options.frequency_penalty",
    };

    /// <summary>A 400 for a malformed field, with an Ollama message.</summary>
    public static ApiErrorException BadRequest(string message) => new(ApiError.BadRequest(message, null, "invalid_value"));

    /// <summary>A 400 for a well-formed request for a feature this server does not have.</summary>
    public static ApiErrorException Unsupported(string message) => new(ApiError.BadRequest(message, null, "unsupported_parameter"));

    /// <summary>
    /// Ollama's text for <paramref name="error"/>; <paramref name="model"/> is the name the client asked for and
    /// <paramref name="kind"/> the endpoint it asked, when known.
    /// </summary>
    public static string MessageOf(ApiError error, string? model, OllamaKind? kind = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (error.Code == "model_not_found" && model is not null)
        {
            return $"model '{RequestGuard.Printable(model)}' not found";
        }

        if (error.Code == "model_not_supported" && model is not null && kind is OllamaKind.Chat or OllamaKind.Generate)
        {
            return $"model '{RequestGuard.Printable(model)}' does not support {(kind == OllamaKind.Chat ? "chat" : "generate")}";
        }

        if (error.Code == "missing_required_parameter" && error.Param == "model")
        {
            return "model is required";
        }

        if (error.Param is { } param && FieldNames.TryGetValue(param, out var ollama))
        {
            return error.Message.Replace($"'{param}'", $"'{ollama}'", StringComparison.Ordinal);
        }

        return error.Message;
    }

    /// <summary>The error object, <c>{"error":"..."}</c>.</summary>
    public static void Write(Utf8JsonWriter writer, string message)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("error", message);
        writer.WriteEndObject();
    }

    public static byte[] ToJsonBytes(string message)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            Write(writer, message);
        }

        return buffer.ToArray();
    }

    /// <summary>Writes <paramref name="error"/> as the whole response (429 and 503 carry Retry-After), unless it has started.</summary>
    public static async Task WriteResponseAsync(HttpContext context, ApiError error, string? model)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(error);
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = error.Status;
        context.Response.ContentType = OllamaWire.JsonContentType;
        if (error.Status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable
            && !context.Response.Headers.ContainsKey(Microsoft.Net.Http.Headers.HeaderNames.RetryAfter))
        {
            context.Response.Headers.RetryAfter = "1";
        }

        await context.Response.Body.WriteAsync(ToJsonBytes(MessageOf(error, model)), context.RequestAborted);
    }
}
