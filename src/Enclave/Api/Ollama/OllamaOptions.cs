using System.Text.Json;

namespace Enclave.Api.Ollama;

/// <summary>
/// Turns Ollama's <c>options</c> object into OpenAI sampling fields. Values are copied as sent and checked once,
/// downstream, by the same reader as <c>/v1/*</c> (its messages are renamed back to <c>options.*</c>). Settings
/// a client leaves out take Ollama's defaults, so a tool sees the sampling it would get from Ollama. Sampling
/// features the engine lacks are refused unless they are at their "off" value. Everything else is ignored, as
/// Ollama ignores options it does not know: that covers the hardware and load-time settings (<c>num_ctx</c>,
/// <c>num_gpu</c>, <c>num_thread</c>, <c>use_mmap</c>, ...), which the gateway's model configuration fixes. Stateless.
/// </summary>
internal static class OllamaOptions
{
    /// <summary>Ollama's defaults (its <c>api.DefaultOptions</c>) for settings that differ from OpenAI's.</summary>
    internal static readonly (string Name, double Value)[] Defaults =
    [
        ("temperature", 0.8),
        ("top_p", 0.9),
        ("top_k", 40),
        ("repeat_penalty", 1.1),
    ];

    private static readonly string[] Copied = ["min_p", "presence_penalty", "frequency_penalty", "stop"];

    /// <summary>Sampling features the engine does not have, with the value at which they do nothing.</summary>
    private static readonly (string Name, double Off)[] OffOnly =
    [
        ("mirostat", 0),
        ("typical_p", 1),
        ("tfs_z", 1),
        // The engine's penalties look at the last 64 tokens, Ollama's default window.
        ("repeat_last_n", 64),
    ];

    /// <summary>Writes the OpenAI sampling fields for <paramref name="root"/>'s <c>options</c> into an open object.</summary>
    public static void WriteSampling(Utf8JsonWriter writer, JsonElement root)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var options = Read(root);
        foreach (var (name, value) in Defaults)
        {
            if (Get(options, name) is { } sent)
            {
                writer.WritePropertyName(name);
                sent.WriteTo(writer);
            }
            else
            {
                writer.WriteNumber(name, value);
            }
        }

        foreach (var name in Copied)
        {
            if (Get(options, name) is { } sent)
            {
                writer.WritePropertyName(name);
                sent.WriteTo(writer);
            }
        }

        // Ollama's seed -1 (any negative) and num_predict -1 (unbounded) or -2 (fill the context) mean "not set".
        CopyUnlessNegative(writer, options, "seed", "seed");
        CopyUnlessNegative(writer, options, "num_predict", "max_tokens");
        foreach (var (name, off) in OffOnly)
        {
            if (Get(options, name) is { } sent && (sent.ValueKind != JsonValueKind.Number || sent.GetDouble() != off))
            {
                throw OllamaError.Unsupported($"options.{name} is not supported by this server; leave it out or set it to {off}.");
            }
        }
    }

    /// <summary>The <c>options</c> object, or an undefined element when absent; anything but an object is a 400.</summary>
    public static JsonElement Read(JsonElement root)
    {
        if (!root.TryGetProperty("options", out var options) || options.ValueKind == JsonValueKind.Null)
        {
            return default;
        }

        return options.ValueKind == JsonValueKind.Object
            ? options
            : throw OllamaError.BadRequest("options must be an object.");
    }

    private static JsonElement? Get(JsonElement options, string name) =>
        options.ValueKind == JsonValueKind.Object && options.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static void CopyUnlessNegative(Utf8JsonWriter writer, JsonElement options, string name, string target)
    {
        if (Get(options, name) is not { } sent || (sent.ValueKind == JsonValueKind.Number && sent.TryGetInt64(out var n) && n < 0))
        {
            return;
        }

        writer.WritePropertyName(target);
        sent.WriteTo(writer);
    }
}
