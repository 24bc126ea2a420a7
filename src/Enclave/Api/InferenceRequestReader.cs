using System.Text.Json;
using Enclave.Engine;

namespace Enclave.Api;

/// <summary>A validated chat or text completion request, ready for the engine.</summary>
public sealed record CompletionCall(string Model, string Prompt, GenerationRequest Generation, bool Stream, bool IncludeUsage);

/// <summary>Turns OpenAI request bodies into engine requests; every problem becomes a 400 naming the field.</summary>
public static class InferenceRequestReader
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    public static (string Model, List<(string Role, string Content)> Messages) ReadChatMessages(JsonRequest body, ApiLimits limits)
    {
        var model = body.RequiredString("model");
        if (!body.Root.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null)
        {
            throw JsonRequest.Bad("Missing required parameter: 'messages'.", "messages");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw JsonRequest.Bad("Invalid type for 'messages': expected an array.", "messages");
        }

        var count = messages.GetArrayLength();
        if (count == 0)
        {
            throw JsonRequest.Bad("Invalid value for 'messages': at least one message is required.", "messages");
        }

        if (count > limits.MaxMessages)
        {
            throw JsonRequest.Bad($"Invalid value for 'messages': at most {limits.MaxMessages} messages are allowed.", "messages");
        }

        var list = new List<(string, string)>(count);
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var at = $"messages[{index}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw JsonRequest.Bad($"Invalid type for '{at}': expected an object.", at);
            }

            if (!message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
            {
                throw JsonRequest.Bad($"Missing required parameter: '{at}.role'.", $"{at}.role");
            }

            var roleName = role.GetString()!;
            if (!Roles.Contains(roleName))
            {
                throw JsonRequest.Bad($"Invalid value for '{at}.role': '{roleName}'. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.", $"{at}.role");
            }

            list.Add((roleName == "developer" ? "system" : roleName, ReadContent(message, at)));
            index++;
        }

        return (model, list);
    }

    private static string ReadContent(JsonElement message, string at)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            return "";
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            throw JsonRequest.Bad($"Invalid type for '{at}.content': expected a string or an array of content parts.", $"{at}.content");
        }

        var parts = new List<string>();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object
                || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                throw JsonRequest.Bad($"Invalid value for '{at}.content': each part needs a 'type'.", $"{at}.content");
            }

            if (type.GetString() != "text" || !part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            {
                throw JsonRequest.Bad($"Invalid value for '{at}.content': only text parts are supported by this model.", $"{at}.content");
            }

            parts.Add(text.GetString()!);
        }

        return string.Concat(parts);
    }

    /// <summary>Reads the text prompt of <c>/v1/completions</c> (a string or an array holding one string).</summary>
    public static string ReadPrompt(JsonRequest body)
    {
        if (!body.Root.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
        {
            throw JsonRequest.Bad("Missing required parameter: 'prompt'.", "prompt");
        }

        if (prompt.ValueKind == JsonValueKind.String)
        {
            return prompt.GetString()!;
        }

        if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String)
        {
            return prompt[0].GetString()!;
        }

        throw JsonRequest.Bad("Invalid value for 'prompt': expected a string (or an array with exactly one string).", "prompt");
    }

    /// <summary>Reads the sampling, length and streaming fields shared by chat and text completions.</summary>
    public static (GenerationRequest Generation, bool Stream, bool IncludeUsage) ReadGeneration(JsonRequest body, int[] promptTokens, ApiLimits limits)
    {
        var n = body.WholeNumber("n", 1, 128);
        if (n is > 1)
        {
            throw JsonRequest.Bad("Invalid value for 'n': this server generates one choice per request (n = 1).", "n");
        }

        var maxTokens = body.WholeNumber("max_completion_tokens", 1, int.MaxValue) ?? body.WholeNumber("max_tokens", 1, int.MaxValue);
        var seed = body.WholeNumber("seed", long.MinValue, long.MaxValue);
        var temperature = body.Number("temperature", 0, 2);
        var sampling = new SamplingOptions
        {
            Temperature = (float)(temperature ?? 1.0),
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
                throw JsonRequest.Bad("Invalid type for 'stream_options': expected an object.", "stream_options");
            }

            includeUsage = new JsonRequest(options).Bool("include_usage", false);
        }

        var generation = new GenerationRequest
        {
            PromptTokens = promptTokens,
            Sampling = sampling,
            Stop = body.Stop(limits.MaxStopSequences, limits.MaxStopLength),
            MaxTokens = maxTokens is null ? null : (int)maxTokens.Value,
        };
        return (generation, stream, includeUsage);
    }
}
