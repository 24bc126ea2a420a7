using System.Globalization;
using System.Text.Json;

namespace Enclave.Api;

/// <summary>
/// OpenAI request features the engine does not implement yet (tool calling, log probabilities, logit bias,
/// structured output). Each is checked for shape first, so malformed values get the usual codes, and a
/// well-formed request for the feature is refused with 400 instead of being silently ignored.
/// </summary>
internal static class UnsupportedFeatures
{
    private const int MaxLogitBiasEntries = 300;

    public static void Check(JsonRequest body, ApiLimits limits)
    {
        CheckTools(body, "tools", limits.MaxTools);
        CheckTools(body, "functions", limits.MaxTools);
        CheckChoice(body, "tool_choice");
        CheckChoice(body, "function_call");
        body.Bool("parallel_tool_calls", true);
        CheckLogprobs(body, limits);
        CheckLogitBias(body);
        CheckResponseFormat(body);
    }

    private static void CheckTools(JsonRequest body, string name, int max)
    {
        if (!body.Root.TryGetProperty(name, out var tools) || tools.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            throw JsonRequest.Bad($"Invalid type for '{name}': expected an array.", name, "invalid_type");
        }

        var count = tools.GetArrayLength();
        if (count > max)
        {
            throw JsonRequest.Bad($"Invalid value for '{name}': at most {max} tools are allowed.", name, "array_above_max_length");
        }

        if (count > 0)
        {
            throw JsonRequest.Bad($"Invalid value for '{name}': tool calling is not supported by this server yet; send no tools.", name, "invalid_value");
        }
    }

    private static void CheckChoice(JsonRequest body, string name)
    {
        if (!body.Root.TryGetProperty(name, out var choice) || choice.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (choice.ValueKind == JsonValueKind.String && choice.GetString() is "none" or "auto")
        {
            return;
        }

        // No tools can be offered, so "required" or a named tool can never be satisfied.
        throw JsonRequest.Bad($"Invalid value for '{name}': only 'none' or 'auto' is possible without tools.", name, "invalid_value");
    }

    private static void CheckLogprobs(JsonRequest body, ApiLimits limits)
    {
        if (body.Root.TryGetProperty("logprobs", out var logprobs) && logprobs.ValueKind != JsonValueKind.Null)
        {
            var wanted = logprobs.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                // /v1/completions takes an integer (0 to 5).
                JsonValueKind.Number => body.WholeNumber("logprobs", 0, 5) > 0,
                _ => throw JsonRequest.Bad("Invalid type for 'logprobs': expected a boolean.", "logprobs", "invalid_type"),
            };
            if (wanted)
            {
                throw JsonRequest.Bad("Invalid value for 'logprobs': log probabilities are not supported by this server yet.", "logprobs", "invalid_value");
            }
        }

        if (body.WholeNumber("top_logprobs", 0, limits.MaxTopLogprobs) > 0)
        {
            throw JsonRequest.Bad("Invalid value for 'top_logprobs': log probabilities are not supported by this server yet.", "top_logprobs", "invalid_value");
        }

        if (body.Has("prompt_logprobs"))
        {
            throw JsonRequest.Bad("Unrecognized request argument supplied: 'prompt_logprobs'.", "prompt_logprobs", "unknown_parameter");
        }
    }

    private static void CheckLogitBias(JsonRequest body)
    {
        if (!body.Root.TryGetProperty("logit_bias", out var bias) || bias.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (bias.ValueKind != JsonValueKind.Object)
        {
            throw JsonRequest.Bad("Invalid type for 'logit_bias': expected an object mapping token ids to numbers.", "logit_bias", "invalid_type");
        }

        var count = 0;
        foreach (var entry in bias.EnumerateObject())
        {
            if (++count > MaxLogitBiasEntries)
            {
                throw JsonRequest.Bad($"Invalid value for 'logit_bias': at most {MaxLogitBiasEntries} entries are allowed.", "logit_bias", "invalid_value");
            }

            if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out _)
                || entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetDouble(out var value) || value is < -100 or > 100)
            {
                throw JsonRequest.Bad("Invalid value for 'logit_bias': keys are token ids and values are numbers from -100 to 100.", "logit_bias", "invalid_value");
            }
        }

        if (count > 0)
        {
            throw JsonRequest.Bad("Invalid value for 'logit_bias': logit bias is not supported by this server yet.", "logit_bias", "invalid_value");
        }
    }

    private static void CheckResponseFormat(JsonRequest body)
    {
        if (!body.Root.TryGetProperty("response_format", out var format) || format.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (format.ValueKind != JsonValueKind.Object)
        {
            throw JsonRequest.Bad("Invalid type for 'response_format': expected an object.", "response_format", "invalid_type");
        }

        if (!format.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "text")
        {
            throw JsonRequest.Bad("Invalid value for 'response_format': only {\"type\":\"text\"} is supported; JSON modes and schemas are not.", "response_format", "invalid_value");
        }
    }
}
