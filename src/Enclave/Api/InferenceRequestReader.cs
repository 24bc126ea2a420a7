using System.Text;
using System.Text.Json;
using Enclave.Engine;

namespace Enclave.Api;

/// <summary>A validated chat or text completion request, ready for the engine.</summary>
public sealed record CompletionCall(string Model, string Prompt, GenerationRequest Generation, bool Stream, bool IncludeUsage);

/// <summary>The generation fields of a completion request, checked before the prompt is tokenized.</summary>
public sealed record GenerationFields(SamplingOptions Sampling, IReadOnlyList<string> Stop, int? MaxTokens, bool Stream, bool IncludeUsage);

/// <summary>
/// Turns OpenAI request bodies into engine requests; every problem becomes a 400 naming the field (<c>param</c>)
/// with an OpenAI code: <c>missing_required_parameter</c>, <c>invalid_type</c>, <c>invalid_value</c>,
/// <c>integer_below_min_value</c>, <c>integer_above_max_value</c>, <c>array_above_max_length</c>,
/// <c>unsupported_parameter</c>, <c>context_length_exceeded</c>. Stateless and thread-safe.
/// </summary>
public static class InferenceRequestReader
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    public static (string Model, List<(string Role, string Content)> Messages) ReadChatMessages(JsonRequest body, ApiLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var model = body.RequiredString("model");
        if (!body.Root.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null)
        {
            throw JsonRequest.Bad("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw JsonRequest.Bad("Invalid type for 'messages': expected an array.", "messages", "invalid_type");
        }

        var count = messages.GetArrayLength();
        if (count == 0)
        {
            throw JsonRequest.Bad("Invalid value for 'messages': at least one message is required.", "messages", "invalid_value");
        }

        if (count > limits.MaxMessages)
        {
            throw JsonRequest.Bad($"Invalid value for 'messages': at most {limits.MaxMessages} messages are allowed.", "messages", "array_above_max_length");
        }

        var list = new List<(string, string)>(count);
        var toolCallIds = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var at = $"messages[{index}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw JsonRequest.Bad($"Invalid type for '{at}': expected an object.", at, "invalid_type");
            }

            if (!message.TryGetProperty("role", out var role) || role.ValueKind == JsonValueKind.Null)
            {
                throw JsonRequest.Bad($"Missing required parameter: '{at}.role'.", $"{at}.role", "missing_required_parameter");
            }

            if (role.ValueKind != JsonValueKind.String)
            {
                throw JsonRequest.Bad($"Invalid type for '{at}.role': expected a string.", $"{at}.role", "invalid_type");
            }

            var roleName = role.GetString()!;
            if (!Roles.Contains(roleName))
            {
                throw JsonRequest.Bad($"Invalid value for '{at}.role': '{RequestGuard.Printable(roleName)}'. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.", $"{at}.role", "invalid_value");
            }

            CheckToolFields(message, roleName, at, toolCallIds);
            list.Add((roleName == "developer" ? "system" : roleName, ReadContent(message, roleName, at)));
            index++;
        }

        return (model, list);
    }

    // The engine has no tool calling yet, but a history may carry earlier calls: they must be well formed, and a
    // tool result must answer a call made earlier in the same history.
    private static void CheckToolFields(JsonElement message, string role, string at, HashSet<string> toolCallIds)
    {
        if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind != JsonValueKind.Null)
        {
            if (role != "assistant" || calls.ValueKind != JsonValueKind.Array)
            {
                throw JsonRequest.Bad($"Invalid value for '{at}.tool_calls': only assistant messages carry tool_calls, as an array.", at, "invalid_value");
            }

            foreach (var call in calls.EnumerateArray())
            {
                if (call.ValueKind != JsonValueKind.Object
                    || !call.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String
                    || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object
                    || !function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                    || !function.TryGetProperty("arguments", out var arguments) || arguments.ValueKind != JsonValueKind.String)
                {
                    throw JsonRequest.Bad($"Invalid value for '{at}.tool_calls': each call needs a string 'id', 'function.name' and 'function.arguments'.", at, "invalid_value");
                }

                toolCallIds.Add(id.GetString()!);
            }
        }

        if (role == "tool")
        {
            if (!message.TryGetProperty("tool_call_id", out var callId) || callId.ValueKind != JsonValueKind.String || !toolCallIds.Contains(callId.GetString()!))
            {
                throw JsonRequest.Bad($"Invalid value for '{at}.tool_call_id': a tool message must answer a tool call made earlier in 'messages'.", at, "invalid_value");
            }
        }
    }

    private static string ReadContent(JsonElement message, string role, string at)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            // Only an assistant turn (one that made tool calls) may omit its text.
            return role == "assistant"
                ? ""
                : throw JsonRequest.Bad($"Invalid type for '{at}.content': expected a string or an array of content parts.", $"{at}.content", "invalid_type");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            throw JsonRequest.Bad($"Invalid type for '{at}.content': expected a string or an array of content parts.", $"{at}.content", "invalid_type");
        }

        var parts = new StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object
                || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                throw JsonRequest.Bad($"Invalid value for '{at}.content': each part needs a 'type'.", $"{at}.content", "invalid_value");
            }

            if (type.GetString() != "text" || !part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            {
                throw JsonRequest.Bad($"Invalid value for '{at}.content': only text parts are supported by this model.", $"{at}.content", "invalid_value");
            }

            parts.Append(text.GetString());
        }

        return parts.ToString();
    }

    /// <summary>Reads the text prompt of <c>/v1/completions</c> (a string or an array holding one string).</summary>
    public static string ReadPrompt(JsonRequest body)
    {
        if (!body.Root.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
        {
            throw JsonRequest.Bad("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter");
        }

        if (prompt.ValueKind == JsonValueKind.String)
        {
            return prompt.GetString()!;
        }

        if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String)
        {
            return prompt[0].GetString()!;
        }

        throw JsonRequest.Bad("Invalid value for 'prompt': expected a string (or an array with exactly one string).", "prompt", "invalid_value");
    }

    /// <summary>
    /// Reads the sampling, length and streaming fields shared by chat and text completions, and refuses the
    /// OpenAI features this server does not implement (so a client never silently gets less than it asked for).
    /// </summary>
    public static GenerationFields ReadGenerationFields(JsonRequest body, ApiLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        // n is counted against the budget as n × max_tokens; locally one choice is generated per request.
        body.WholeNumber("n", 1, 1);
        var maxTokens = body.WholeNumber("max_completion_tokens", 1, limits.MaxCompletionTokens) ?? body.WholeNumber("max_tokens", 1, limits.MaxCompletionTokens);
        // Seeds are non-negative 64-bit integers (OpenAI's type without the negatives); llama.cpp uses the low 32 bits.
        var seed = body.WholeNumber("seed", 0, long.MaxValue);
        var sampling = new SamplingOptions
        {
            Temperature = (float)(body.Number("temperature", 0, 2) ?? 1.0),
            TopP = (float)(body.Number("top_p", 0, 1) ?? 1.0),
            TopK = (int)(body.WholeNumber("top_k", 0, 100_000) ?? 0),
            MinP = (float)(body.Number("min_p", 0, 1) ?? 0),
            Seed = seed is null ? null : unchecked((uint)seed.Value),
            FrequencyPenalty = (float)(body.Number("frequency_penalty", -2, 2) ?? 0),
            PresencePenalty = (float)(body.Number("presence_penalty", -2, 2) ?? 0),
            RepetitionPenalty = (float)(body.Number("repetition_penalty", 0.01, 10) ?? body.Number("repeat_penalty", 0.01, 10) ?? 1),
        };
        var stream = body.Bool("stream", false);
        var includeUsage = false;
        if (body.Root.TryGetProperty("stream_options", out var options) && options.ValueKind != JsonValueKind.Null)
        {
            if (options.ValueKind != JsonValueKind.Object)
            {
                throw JsonRequest.Bad("Invalid type for 'stream_options': expected an object.", "stream_options", "invalid_type");
            }

            if (!stream)
            {
                throw JsonRequest.Bad("Invalid value for 'stream_options': it is only allowed when 'stream' is true.", "stream_options", "invalid_value");
            }

            includeUsage = new JsonRequest(options).Bool("include_usage", false);
        }

        UnsupportedFeatures.Check(body, limits);
        return new GenerationFields(sampling, body.Stop(limits.MaxStopSequences, limits.MaxStopLength), maxTokens is null ? null : (int)maxTokens.Value, stream, includeUsage);
    }

    /// <summary>
    /// Completes the fields with the tokenized prompt. <c>max_tokens</c> above the context left after the prompt
    /// is refused with <c>integer_above_max_value</c> rather than clamped.
    /// </summary>
    public static GenerationRequest ToGeneration(GenerationFields fields, int[] promptTokens, int contextPerSequence)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(promptTokens);
        var room = contextPerSequence - promptTokens.Length;
        if (fields.MaxTokens is { } max && max > room)
        {
            throw JsonRequest.Bad(
                $"Invalid value for 'max_tokens': {max} tokens do not fit; this model's context is {contextPerSequence} tokens and the prompt uses {promptTokens.Length}, leaving {room}.",
                "max_tokens", "integer_above_max_value");
        }

        return new GenerationRequest { PromptTokens = promptTokens, Sampling = fields.Sampling, Stop = fields.Stop, MaxTokens = fields.MaxTokens };
    }

    /// <summary>
    /// Refuses, without tokenizing, text that cannot fit: no vocabulary piece is longer than
    /// <paramref name="maxBytesPerToken"/> bytes, so text of more than context × that many UTF-8 bytes needs more
    /// tokens than the context holds. Cheap (one length pass), and never refuses text that would fit.
    /// </summary>
    public static void CheckTextFits(long utf8Bytes, int contextTokens, int maxBytesPerToken, string param)
    {
        var bound = (long)contextTokens * maxBytesPerToken;
        if (utf8Bytes > bound)
        {
            throw new ApiErrorException(new ApiError(StatusCodes.Status400BadRequest, "invalid_request_error", "context_length_exceeded",
                $"This model's maximum context length is {contextTokens} tokens, and the input ({utf8Bytes} bytes) is far longer than that. Shorten the input.", param));
        }
    }

    /// <summary>UTF-8 length of the message texts (a lower bound on the rendered prompt).</summary>
    public static long Utf8Length(IEnumerable<(string Role, string Content)> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        long total = 0;
        foreach (var (_, content) in messages)
        {
            total += Encoding.UTF8.GetByteCount(content);
        }

        return total;
    }
}
