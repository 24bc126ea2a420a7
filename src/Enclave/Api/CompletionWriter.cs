using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Enclave.Engine;

namespace Enclave.Api;

/// <summary>
/// Writes a generation as OpenAI's chat or text completion, streamed (SSE, <c>data: [DONE]</c> last) or whole.
/// After the first streamed byte, a failure is sent as a final <c>data: {"error":...}</c> event with no
/// <c>[DONE]</c>, so a client can never mistake it for a clean finish.
/// </summary>
public sealed class CompletionWriter(HttpContext context, string model, bool chat, TimeProvider time) : IDisposable
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    private readonly string _id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N")[..24];
    private readonly long _created = time.GetUtcNow().ToUnixTimeSeconds();

    // One buffer and JSON writer per stream, reused for every event.
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private Utf8JsonWriter? _json;

    private string Object => chat ? (_streaming ? "chat.completion.chunk" : "chat.completion") : "text_completion";

    private bool _streaming;

    public async Task StreamAsync(ChannelReader<GenerationEvent> events, bool includeUsage, CancellationToken cancellationToken)
    {
        _streaming = true;
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        // Send headers now: a queued request learns at once that it was admitted.
        await response.StartAsync(cancellationToken);
        if (chat)
        {
            await WriteEventAsync(w => WriteChunk(w, role: true, text: "", finish: null, includeUsage), cancellationToken);
        }

        await foreach (var item in events.ReadAllAsync(cancellationToken))
        {
            switch (item)
            {
                case TextDelta delta:
                    await WriteEventAsync(w => WriteChunk(w, role: false, delta.Text, finish: null, includeUsage), cancellationToken);
                    break;
                case GenerationFinished finished when finished.Reason != FinishReason.Cancelled:
                    // The finish chunk, the usage chunk and [DONE] go out in one write.
                    AppendEvent(w => WriteChunk(w, role: false, text: null, FinishName(finished.Reason), includeUsage));
                    if (includeUsage)
                    {
                        AppendEvent(w => WriteUsageChunk(w, finished));
                    }

                    // For the gateway's metering whatever the client asked; the gateway removes it (SSE comments
                    // are ignored by clients anyway).
                    _buffer.Write(SseRelay.UsageCommentPrefix);
                    _json!.Reset(_buffer);
                    _json.WriteStartObject();
                    _json.WriteNumber("prompt_tokens", finished.PromptTokens);
                    _json.WriteNumber("completion_tokens", finished.CompletionTokens);
                    _json.WriteString("finish_reason", FinishName(finished.Reason));
                    EngineTiming.From(finished).WriteFields(_json);
                    _json.WriteEndObject();
                    _json.Flush();
                    _buffer.Write(EventEnd);
                    _buffer.Write(Done);
                    await SendAsync(cancellationToken);
                    return;
                case GenerationFinished:
                    return;
                case GenerationFailed failed:
                    var error = new ApiError(StatusCodes.Status500InternalServerError, "server_error", failed.Code, failed.Message);
                    await WriteEventAsync(error.WriteTo, cancellationToken);
                    return;
            }
        }
    }

    public async Task CompleteAsync(ChannelReader<GenerationEvent> events, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        await foreach (var item in events.ReadAllAsync(cancellationToken))
        {
            switch (item)
            {
                case TextDelta delta:
                    text.Append(delta.Text);
                    break;
                case GenerationFailed failed:
                    await new ApiError(StatusCodes.Status500InternalServerError, "server_error", failed.Code, failed.Message).WriteResponseAsync(context);
                    return;
                case GenerationFinished finished when finished.Reason != FinishReason.Cancelled:
                    var buffer = new ArrayBufferWriter<byte>();
                    using (var w = new Utf8JsonWriter(buffer, JsonWriting.Options))
                    {
                        WriteWhole(w, text.ToString(), finished);
                    }

                    context.Response.StatusCode = StatusCodes.Status200OK;
                    context.Response.ContentType = "application/json";
                    context.Response.Headers[EngineTiming.Header] = EngineTiming.From(finished).ToHeaderValue();
                    await context.Response.Body.WriteAsync(buffer.WrittenMemory, cancellationToken);
                    return;
            }
        }
    }

    public void Dispose() => _json?.Dispose();

    private static string FinishName(FinishReason reason) => reason == FinishReason.Length ? "length" : "stop";

    private Task WriteEventAsync(Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        AppendEvent(write);
        return SendAsync(cancellationToken);
    }

    private void AppendEvent(Action<Utf8JsonWriter> write)
    {
        _buffer.Write(DataPrefix);
        if (_json is null)
        {
            _json = new Utf8JsonWriter(_buffer, JsonWriting.Options);
        }
        else
        {
            _json.Reset(_buffer);
        }

        write(_json);
        _json.Flush();
        _buffer.Write(EventEnd);
    }

    private async Task SendAsync(CancellationToken cancellationToken)
    {
        await context.Response.Body.WriteAsync(_buffer.WrittenMemory, cancellationToken);
        _buffer.ResetWrittenCount();
        await context.Response.Body.FlushAsync(cancellationToken);
    }

    private void WriteHeader(Utf8JsonWriter w)
    {
        w.WriteString("id", _id);
        w.WriteString("object", Object);
        w.WriteNumber("created", _created);
        w.WriteString("model", model);
        w.WriteNull("system_fingerprint");
    }

    private void WriteChunk(Utf8JsonWriter w, bool role, string? text, string? finish, bool includeUsage)
    {
        w.WriteStartObject();
        WriteHeader(w);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        if (chat)
        {
            w.WriteStartObject("delta");
            if (role)
            {
                w.WriteString("role", "assistant");
            }

            if (text is not null)
            {
                w.WriteString("content", text);
            }

            w.WriteEndObject();
        }
        else
        {
            w.WriteString("text", text ?? "");
        }

        w.WriteNull("logprobs");
        w.WriteString("finish_reason", finish);
        w.WriteEndObject();
        w.WriteEndArray();
        if (includeUsage)
        {
            w.WriteNull("usage");
        }

        w.WriteEndObject();
    }

    private void WriteUsageChunk(Utf8JsonWriter w, GenerationFinished finished)
    {
        w.WriteStartObject();
        WriteHeader(w);
        w.WriteStartArray("choices");
        w.WriteEndArray();
        WriteUsage(w, finished);
        w.WriteEndObject();
    }

    private void WriteWhole(Utf8JsonWriter w, string text, GenerationFinished finished)
    {
        w.WriteStartObject();
        WriteHeader(w);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        if (chat)
        {
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteString("content", text);
            w.WriteNull("refusal");
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("text", text);
        }

        w.WriteNull("logprobs");
        w.WriteString("finish_reason", FinishName(finished.Reason));
        w.WriteEndObject();
        w.WriteEndArray();
        WriteUsage(w, finished);
        w.WriteEndObject();
    }

    private static void WriteUsage(Utf8JsonWriter w, GenerationFinished finished)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", finished.PromptTokens);
        w.WriteNumber("completion_tokens", finished.CompletionTokens);
        w.WriteNumber("total_tokens", finished.PromptTokens + finished.CompletionTokens);
        w.WriteEndObject();
    }
}
