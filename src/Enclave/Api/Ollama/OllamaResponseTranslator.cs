using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Enclave.Api.Ollama;

/// <summary>
/// Turns the OpenAI pipeline's answer into Ollama's: SSE chunks into NDJSON lines (or, for a client that did not
/// stream, into one JSON object), OpenAI JSON into Ollama JSON, and the OpenAI error envelope into
/// <c>{"error":"..."}</c>. Ollama's durations are measured here, in nanoseconds: load is the time until the backend
/// admitted the request (its response started), prompt evaluation runs from there to the first generated text,
/// and evaluation from the first text to the end. Token counts come from the stream's usage chunk. One per
/// response; not thread-safe.
/// </summary>
internal sealed class OllamaResponseTranslator(OllamaCall call, TimeProvider time, long startedTimestamp)
{
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    private readonly ArrayBufferWriter<byte> _pending = new(4096);
    private readonly StringBuilder _text = new();
    private long _admitted;
    private long _firstText;
    private long _lastData;
    private long _ended;
    private int _textChunks;
    private int? _promptTokens;
    private int? _completionTokens;
    private string? _doneReason;
    private string? _error;

    /// <summary>True once the stream's end (<c>[DONE]</c>) or an error event has been translated.</summary>
    public bool Finished => _ended != 0 || _error is not null;

    /// <summary>Marks the moment the backend admitted the request (the pipeline started the response).</summary>
    public void OnStarted(long timestamp)
    {
        if (_admitted == 0)
        {
            _admitted = timestamp;
        }
    }

    /// <summary>
    /// Takes SSE bytes in any split, translates each whole event, and, when the client streams, appends its NDJSON
    /// lines to <paramref name="output"/>. The final line (done, or error) is written when the stream's own final
    /// event arrives, so it never reaches the client before the pipeline has recorded the request.
    /// </summary>
    public void AppendSse(ReadOnlySpan<byte> bytes, IBufferWriter<byte> output)
    {
        _pending.Write(bytes);
        var consumed = 0;
        while (true)
        {
            var rest = _pending.WrittenSpan[consumed..];
            var end = rest.IndexOf(EventEnd);
            if (end < 0)
            {
                break;
            }

            HandleEvent(rest[..end], output);
            consumed += end + EventEnd.Length;
        }

        if (consumed > 0)
        {
            var left = _pending.WrittenSpan[consumed..].ToArray();
            _pending.ResetWrittenCount();
            _pending.Write(left);
        }
    }

    /// <summary>
    /// The whole answer for a client that did not stream, from a translated SSE stream: 200 and the Ollama object,
    /// or 500 and the error; null when the stream ended without either (the client went away).
    /// </summary>
    public (int Status, byte[] Body)? WholeFromStream()
    {
        if (_error is not null)
        {
            return (StatusCodes.Status500InternalServerError, OllamaError.ToJsonBytes(_error));
        }

        return _ended == 0 ? null : (StatusCodes.Status200OK, Json(w => WriteDone(w, _text.ToString())));
    }

    /// <summary>Translates a whole JSON answer (an error envelope, embeddings, or a completion that was not streamed).</summary>
    public (int Status, byte[] Body) TranslateJson(int status, ReadOnlySpan<byte> body)
    {
        _ended = Stopwatch.GetTimestamp();
        JsonDocument? doc = null;
        try
        {
            doc = JsonDocument.Parse(body.ToArray());
        }
        catch (JsonException)
        {
            doc = null;
        }

        using (doc)
        {
            if (status >= 400)
            {
                return (status, OllamaError.ToJsonBytes(OllamaError.MessageOf(ErrorOf(status, doc?.RootElement), call.RequestedModel, call.Kind)));
            }

            if (doc is null)
            {
                return (StatusCodes.Status502BadGateway, OllamaError.ToJsonBytes("The model's backend sent an answer that is not JSON."));
            }

            var root = doc.RootElement;
            ReadUsage(root);
            return call.Kind switch
            {
                OllamaKind.Embed => (status, Json(w => WriteEmbed(w, root))),
                OllamaKind.Embeddings => (status, Json(w => WriteEmbedding(w, root))),
                _ => (status, Json(w => WriteDone(w, CompletionText(root)))),
            };
        }
    }

    private void HandleEvent(ReadOnlySpan<byte> sseEvent, IBufferWriter<byte> output)
    {
        foreach (var range in sseEvent.Split((byte)'\n'))
        {
            var line = sseEvent[range];
            if (!line.StartsWith("data: "u8))
            {
                // Comments (": keep-alive") and other fields carry nothing to translate.
                continue;
            }

            var data = line["data: ".Length..];
            if (data.SequenceEqual("[DONE]"u8))
            {
                _ended = Stopwatch.GetTimestamp();
                if (call.Stream)
                {
                    WriteLine(output, w => WriteDone(w, ""));
                }

                continue;
            }

            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(data.ToArray());
            }
            catch (JsonException)
            {
                // Not from this gateway's workers; an unreadable event carries nothing a client could use.
                continue;
            }

            using (doc)
            {
                HandleData(doc.RootElement, output);
            }
        }
    }

    private void HandleData(JsonElement root, IBufferWriter<byte> output)
    {
        if (root.TryGetProperty("error", out _))
        {
            var message = OllamaError.MessageOf(ErrorOf(StatusCodes.Status500InternalServerError, root), call.RequestedModel, call.Kind);
            _error = message;
            if (call.Stream)
            {
                WriteLine(output, w => OllamaError.Write(w, message));
            }

            return;
        }

        _lastData = Stopwatch.GetTimestamp();
        ReadUsage(root);
        if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
        {
            return;
        }

        var choice = choices[0];
        if (choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
        {
            _doneReason = finish.GetString();
        }

        var text = choice.TryGetProperty("delta", out var delta)
            ? (delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String ? content.GetString() : null)
            : (choice.TryGetProperty("text", out var piece) && piece.ValueKind == JsonValueKind.String ? piece.GetString() : null);
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        _textChunks++;
        if (_firstText == 0)
        {
            _firstText = Stopwatch.GetTimestamp();
        }

        if (call.Stream)
        {
            WriteLine(output, w => WriteChunk(w, text));
        }
        else
        {
            _text.Append(text);
        }
    }

    private void ReadUsage(JsonElement root)
    {
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            _promptTokens = usage.TryGetProperty("prompt_tokens", out var p) && p.TryGetInt32(out var pn) ? pn : _promptTokens;
            _completionTokens = usage.TryGetProperty("completion_tokens", out var c) && c.TryGetInt32(out var cn) ? cn : _completionTokens;
        }
    }

    private static ApiError ErrorOf(int status, JsonElement? root)
    {
        if (root is { ValueKind: JsonValueKind.Object } r && r.TryGetProperty("error", out var error))
        {
            if (error.ValueKind == JsonValueKind.String)
            {
                return new ApiError(status, "error", null, error.GetString()!);
            }

            if (error.ValueKind == JsonValueKind.Object)
            {
                return new ApiError(status, Text(error, "type") ?? "error", Text(error, "code"), Text(error, "message") ?? "The request failed.", Text(error, "param"));
            }
        }

        return new ApiError(status, "error", null, $"The request failed with status {status}.");

        static string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }

    private static string CompletionText(JsonElement root)
    {
        if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
        {
            var choice = choices[0];
            if (choice.TryGetProperty("message", out var message) && message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
            {
                return content.GetString()!;
            }

            if (choice.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                return text.GetString()!;
            }
        }

        return "";
    }

    private void WriteHeader(Utf8JsonWriter w)
    {
        w.WriteString("model", call.RequestedModel);
        w.WriteString("created_at", OllamaWire.Rfc3339(time.GetUtcNow()));
    }

    private void WriteText(Utf8JsonWriter w, string text)
    {
        if (call.Kind == OllamaKind.Chat)
        {
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteString("content", text);
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("response", text);
        }
    }

    private void WriteChunk(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        WriteHeader(w);
        WriteText(w, text);
        w.WriteBoolean("done", false);
        w.WriteEndObject();
    }

    private void WriteDone(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        WriteHeader(w);
        WriteText(w, text);
        w.WriteBoolean("done", true);
        w.WriteString("done_reason", _doneReason ?? "stop");
        w.WriteNumber("total_duration", OllamaWire.Nanoseconds(startedTimestamp, _ended));
        if (_admitted != 0)
        {
            // Phases are only known when the answer was streamed from the backend; a whole answer has the total only.
            // Generation ends with the backend's last event; the total also covers recording the request.
            var generated = _lastData != 0 ? _lastData : _ended;
            var first = _firstText != 0 ? _firstText : generated;
            w.WriteNumber("load_duration", OllamaWire.Nanoseconds(startedTimestamp, _admitted));
            w.WriteNumber("prompt_eval_count", _promptTokens ?? 0);
            w.WriteNumber("prompt_eval_duration", OllamaWire.Nanoseconds(_admitted, first));
            w.WriteNumber("eval_count", _completionTokens ?? _textChunks);
            w.WriteNumber("eval_duration", OllamaWire.Nanoseconds(first, generated));
        }
        else
        {
            w.WriteNumber("prompt_eval_count", _promptTokens ?? 0);
            w.WriteNumber("eval_count", _completionTokens ?? _textChunks);
        }

        w.WriteEndObject();
    }

    private void WriteEmbed(Utf8JsonWriter w, JsonElement root)
    {
        w.WriteStartObject();
        w.WriteString("model", call.RequestedModel);
        w.WriteStartArray("embeddings");
        foreach (var item in Vectors(root))
        {
            item.WriteTo(w);
        }

        w.WriteEndArray();
        w.WriteNumber("total_duration", OllamaWire.Nanoseconds(startedTimestamp, _ended));
        w.WriteNumber("prompt_eval_count", _promptTokens ?? 0);
        w.WriteEndObject();
    }

    private static void WriteEmbedding(Utf8JsonWriter w, JsonElement root)
    {
        w.WriteStartObject();
        w.WritePropertyName("embedding");
        var first = Vectors(root).FirstOrDefault();
        if (first.ValueKind == JsonValueKind.Array)
        {
            first.WriteTo(w);
        }
        else
        {
            w.WriteStartArray();
            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    private static IEnumerable<JsonElement> Vectors(JsonElement root) =>
        root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array
            ? data.EnumerateArray().Where(d => d.TryGetProperty("embedding", out _)).Select(d => d.GetProperty("embedding"))
            : [];

    private static void WriteLine(IBufferWriter<byte> output, Action<Utf8JsonWriter> write)
    {
        using (var w = new Utf8JsonWriter(output, JsonWriting.Options))
        {
            write(w);
        }

        output.Write("\n"u8);
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            write(w);
        }

        return buffer.WrittenSpan.ToArray();
    }
}
