using System.Buffers;
using System.Text.Json;

namespace Enclave.Api.Ollama;

/// <summary>
/// Translates Ollama request bodies into OpenAI request bodies for the gateway's one forwarding pipeline. Chat and
/// generate are always forwarded as streams with usage, so the gateway can time prompt evaluation and generation
/// for Ollama's duration fields even when the client asked for one JSON object. Ollama features the engine lacks
/// (structured output, tools, images, thinking, fill-in-the-middle, raw token context) are refused with a 400
/// rather than ignored. Stateless and thread-safe; the input document is never mutated.
/// </summary>
internal static class OllamaRequestTranslator
{
    public static OllamaCall Chat(JsonElement root, string requested, string model)
    {
        var stream = ReadStream(root);
        CheckCommon(root, requested);
        CheckTools(root, requested);
        var keepAlive = OllamaKeepAlive.Read(root);
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null
            || (messages.ValueKind == JsonValueKind.Array && messages.GetArrayLength() == 0))
        {
            return Load(OllamaKind.Chat, requested, model, stream, keepAlive);
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw OllamaError.BadRequest("messages must be an array of message objects.");
        }

        var body = Write(w =>
        {
            w.WriteString("model", model);
            w.WriteStartArray("messages");
            var index = 0;
            foreach (var message in messages.EnumerateArray())
            {
                WriteMessage(w, message, index++, requested);
            }

            w.WriteEndArray();
            WriteGeneration(w, root);
        });
        return new OllamaCall(OllamaKind.Chat, requested, model, stream, "v1/chat/completions", body, null, keepAlive);
    }

    public static OllamaCall Generate(JsonElement root, string requested, string model)
    {
        var stream = ReadStream(root);
        CheckCommon(root, requested);
        var keepAlive = OllamaKeepAlive.Read(root);
        RefuseNonEmpty(root, "suffix", $"model '{RequestGuard.Printable(requested)}' does not support insert (suffix)");
        RefuseNonEmpty(root, "template", "template overrides are not supported by this server; the model's own chat template is used");
        RefuseNonEmpty(root, "context", "context (token ids from an earlier answer) is not supported by this server; send the conversation to /api/chat instead");
        var raw = ReadBool(root, "raw") ?? false;
        var system = ReadString(root, "system");
        var prompt = ReadString(root, "prompt");
        if (string.IsNullOrEmpty(prompt))
        {
            return Load(OllamaKind.Generate, requested, model, stream, keepAlive);
        }

        if (raw && !string.IsNullOrEmpty(system))
        {
            throw OllamaError.BadRequest("system cannot be used with raw: a raw prompt is sent to the model exactly as given.");
        }

        var body = Write(w =>
        {
            w.WriteString("model", model);
            if (raw)
            {
                w.WriteString("prompt", prompt);
            }
            else
            {
                // Not raw: the prompt goes through the model's chat template, as /v1/chat/completions applies it.
                w.WriteStartArray("messages");
                if (!string.IsNullOrEmpty(system))
                {
                    WriteTextMessage(w, "system", system);
                }

                WriteTextMessage(w, "user", prompt);
                w.WriteEndArray();
            }

            WriteGeneration(w, root);
        });
        return new OllamaCall(OllamaKind.Generate, requested, model, stream, raw ? "v1/completions" : "v1/chat/completions", body, null, keepAlive);
    }

    public static OllamaCall Embed(JsonElement root, string requested, string model)
    {
        ReadBool(root, "truncate");
        OllamaOptions.Read(root);
        var keepAlive = OllamaKeepAlive.Read(root);
        if (!root.TryGetProperty("input", out var input) || input.ValueKind == JsonValueKind.Null
            || (input.ValueKind == JsonValueKind.Array && input.GetArrayLength() == 0))
        {
            return Load(OllamaKind.Embed, requested, model, stream: false, keepAlive);
        }

        var body = Write(w =>
        {
            w.WriteString("model", model);
            w.WritePropertyName("input");
            input.WriteTo(w);
            if (root.TryGetProperty("dimensions", out var dimensions) && dimensions.ValueKind != JsonValueKind.Null)
            {
                w.WritePropertyName("dimensions");
                dimensions.WriteTo(w);
            }
        });
        return new OllamaCall(OllamaKind.Embed, requested, model, false, "v1/embeddings", body, null, keepAlive);
    }

    public static OllamaCall Embeddings(JsonElement root, string requested, string model)
    {
        OllamaOptions.Read(root);
        var keepAlive = OllamaKeepAlive.Read(root);
        var prompt = ReadString(root, "prompt");
        if (string.IsNullOrEmpty(prompt))
        {
            return Load(OllamaKind.Embeddings, requested, model, stream: false, keepAlive);
        }

        var body = Write(w =>
        {
            w.WriteString("model", model);
            w.WriteString("input", prompt);
        });
        return new OllamaCall(OllamaKind.Embeddings, requested, model, false, "v1/embeddings", body, null, keepAlive);
    }

    private static OllamaCall Load(OllamaKind kind, string requested, string model, bool stream, TimeSpan? keepAlive) =>
        new(kind, requested, model, stream, null, null, keepAlive == TimeSpan.Zero ? "unload" : "load", keepAlive);

    private static void WriteGeneration(Utf8JsonWriter w, JsonElement root)
    {
        OllamaOptions.WriteSampling(w, root);
        w.WriteBoolean("stream", true);
        w.WriteStartObject("stream_options");
        w.WriteBoolean("include_usage", true);
        w.WriteEndObject();
    }

    private static void WriteMessage(Utf8JsonWriter w, JsonElement message, int index, string requested)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            throw OllamaError.BadRequest($"messages[{index}] must be an object with a role and content.");
        }

        if ((message.TryGetProperty("role", out var role) && role.ValueKind == JsonValueKind.String && role.GetString() == "tool")
            || HasItems(message, "tool_calls"))
        {
            throw OllamaError.Unsupported($"messages[{index}]: tool calling is not supported by this server; model '{RequestGuard.Printable(requested)}' does not support tools");
        }

        if (HasItems(message, "images"))
        {
            throw OllamaError.Unsupported($"messages[{index}]: model '{RequestGuard.Printable(requested)}' does not support images");
        }

        w.WriteStartObject();
        if (message.TryGetProperty("role", out role))
        {
            w.WritePropertyName("role");
            role.WriteTo(w);
        }

        // Ollama treats a missing content as empty text.
        w.WritePropertyName("content");
        if (message.TryGetProperty("content", out var content) && content.ValueKind != JsonValueKind.Null)
        {
            content.WriteTo(w);
        }
        else
        {
            w.WriteStringValue("");
        }

        w.WriteEndObject();
    }

    private static void WriteTextMessage(Utf8JsonWriter w, string role, string content)
    {
        w.WriteStartObject();
        w.WriteString("role", role);
        w.WriteString("content", content);
        w.WriteEndObject();
    }

    private static void CheckCommon(JsonElement root, string requested)
    {
        if (root.TryGetProperty("format", out var format) && format.ValueKind != JsonValueKind.Null
            && !(format.ValueKind == JsonValueKind.String && format.GetString()!.Length == 0))
        {
            throw OllamaError.Unsupported("format (JSON mode and JSON schemas) is not supported by this server; leave it out and ask for JSON in the prompt.");
        }

        if (root.TryGetProperty("think", out var think) && think.ValueKind is not (JsonValueKind.Null or JsonValueKind.False))
        {
            throw OllamaError.Unsupported($"model '{RequestGuard.Printable(requested)}' does not support thinking");
        }

        if (HasItems(root, "images"))
        {
            throw OllamaError.Unsupported($"model '{RequestGuard.Printable(requested)}' does not support images");
        }

        if ((root.TryGetProperty("logprobs", out var logprobs) && logprobs.ValueKind == JsonValueKind.True)
            || (root.TryGetProperty("top_logprobs", out var top) && top.ValueKind == JsonValueKind.Number && top.TryGetInt32(out var n) && n > 0))
        {
            throw OllamaError.Unsupported("logprobs (log probabilities) are not supported by this server yet.");
        }
    }

    private static void CheckTools(JsonElement root, string requested)
    {
        if (HasItems(root, "tools"))
        {
            // The wording lets clients recognise the refusal (OllamaSharp raises ModelDoesNotSupportToolsException).
            throw OllamaError.Unsupported($"model '{RequestGuard.Printable(requested)}' does not support tools");
        }
    }

    private static bool ReadStream(JsonElement root) => ReadBool(root, "stream") ?? true;

    private static bool? ReadBool(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw OllamaError.BadRequest($"{name} must be true or false."),
        };
    }

    private static string? ReadString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw OllamaError.BadRequest($"{name} must be a string.");
    }

    private static bool HasItems(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind switch
        {
            JsonValueKind.Null => false,
            JsonValueKind.Array => value.GetArrayLength() > 0,
            _ => throw OllamaError.BadRequest($"{name} must be an array."),
        };

    private static void RefuseNonEmpty(JsonElement root, string name, string message)
    {
        if (root.TryGetProperty(name, out var value) && value.ValueKind switch
        {
            JsonValueKind.Null => false,
            JsonValueKind.String => value.GetString()!.Length > 0,
            JsonValueKind.Array => value.GetArrayLength() > 0,
            _ => true,
        })
        {
            throw OllamaError.Unsupported(message);
        }
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
