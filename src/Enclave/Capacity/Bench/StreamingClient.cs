using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Enclave.Capacity.Bench;

/// <summary>
/// Sends streaming completion requests to an OpenAI-compatible server and times them on the client: time to the
/// first chunk carrying text (TTFT), the gap between text chunks (ITL), and the end of the stream (E2E). Output
/// tokens come from the usage chunk when the server sends one (<c>stream_options.include_usage</c>), else from the
/// number of text chunks. Every failure (an HTTP error, an in-band <c>data: {"error":...}</c> event, a refused or
/// broken connection, a timeout, a stream that ends without finishing) becomes a <see cref="RequestSample"/> with an
/// error kind, never an exception. Thread-safe: one instance serves all concurrent requests of a run.
/// </summary>
public sealed class StreamingClient : IDisposable
{
    private const int MaxErrorBody = 2048;

    private readonly HttpClient _http;
    private readonly BenchTarget _target;
    private readonly TimeSpan _timeout;

    public StreamingClient(BenchTarget target, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(target);
        _target = target;
        _timeout = timeout;
        _http = new HttpClient(new SocketsHttpHandler
        {
            // Some servers (llama-server) close idle keep-alive connections after 5 s; never reuse one that old.
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(2),
            MaxConnectionsPerServer = int.MaxValue,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = DecompressionMethods.None,
            MaxResponseDrainSize = 0,
        })
        { Timeout = Timeout.InfiniteTimeSpan };
        if (target.ApiKey is { Length: > 0 } key)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
    }

    /// <summary>Sends <paramref name="prompt"/> and times it; <paramref name="levelStart"/> is a Stopwatch timestamp.</summary>
    public async Task<RequestSample> SendAsync(BenchPrompt prompt, long levelStart, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        using var body = Body(prompt, prompt.MaxTokens, stream: true);
        var sent = Stopwatch.GetTimestamp();
        var startMs = Stopwatch.GetElapsedTime(levelStart, sent).TotalMilliseconds;
        var state = new StreamState();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _target.RequestUri) { Content = body };
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var message = await ErrorMessageAsync(response, timeout.Token).ConfigureAwait(false);
                return state.Failed(startMs, sent, $"http_{(int)response.StatusCode}", message);
            }

            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            if (response.Content.Headers.ContentType?.MediaType is { } media && !media.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase))
            {
                // The server ignored "stream": one whole JSON answer, so the first token arrives with the last.
                using var whole = await JsonDocument.ParseAsync(stream, cancellationToken: timeout.Token).ConfigureAwait(false);
                state.Read(whole.RootElement, Stopwatch.GetTimestamp());
                state.Finished = true;
                return state.Result(startMs, sent);
            }

            await foreach (var item in SseParser.Create(stream).EnumerateAsync(timeout.Token).ConfigureAwait(false))
            {
                var now = Stopwatch.GetTimestamp();
                if (item.Data == "[DONE]")
                {
                    state.Finished = true;
                    break;
                }

                JsonDocument document;
                try
                {
                    document = JsonDocument.Parse(item.Data);
                }
                catch (JsonException)
                {
                    return state.Failed(startMs, sent, "protocol_error", "a stream event was not JSON");
                }

                using (document)
                {
                    if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error))
                    {
                        return state.Failed(startMs, sent, "stream_error", ErrorText(error));
                    }

                    state.Read(document.RootElement, now);
                }
            }

            return state.Finished || state.FinishReason is not null
                ? state.Result(startMs, sent)
                : state.Failed(startMs, sent, "incomplete", "the stream ended without a finish reason or [DONE]");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return state.Failed(startMs, sent, "timeout", $"no complete answer within {_timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConnectionError && ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
        {
            return state.Failed(startMs, sent, "connection_refused", ex.Message);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return state.Failed(startMs, sent, "connection_error", ex.Message);
        }
        catch (JsonException ex)
        {
            return state.Failed(startMs, sent, "protocol_error", ex.Message);
        }
    }

    /// <summary>
    /// Sends <paramref name="text"/> as a one-token request (not streamed) and returns the server's
    /// <c>usage.prompt_tokens</c>, or null when the request failed or the server reported no usage.
    /// </summary>
    public async Task<int?> ProbePromptTokensAsync(string text, CancellationToken cancellationToken)
    {
        using var body = Body(new BenchPrompt { Text = text, MaxTokens = 1 }, 1, stream: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using var response = await _http.PostAsync(_target.RequestUri, body, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            using var document = await JsonDocument.ParseAsync(stream, cancellationToken: timeout.Token).ConfigureAwait(false);
            return document.RootElement.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
                && usage.TryGetProperty("prompt_tokens", out var tokens) && tokens.TryGetInt32(out var n) && n > 0
                ? n
                : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or JsonException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }

    public void Dispose() => _http.Dispose();

    private ByteArrayContent Body(BenchPrompt prompt, int maxTokens, bool stream)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model", _target.Model);
            if (_target.Endpoint == BenchEndpoint.Chat)
            {
                w.WriteStartArray("messages");
                foreach (var turn in prompt.AsMessages())
                {
                    w.WriteStartObject();
                    w.WriteString("role", turn.Role);
                    w.WriteString("content", turn.Content);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }
            else
            {
                w.WriteString("prompt", prompt.AsText());
            }

            w.WriteNumber("max_tokens", maxTokens);
            if (_target.IgnoreEos)
            {
                w.WriteBoolean("ignore_eos", true);
            }

            w.WriteBoolean("stream", stream);
            if (stream)
            {
                w.WriteStartObject("stream_options");
                w.WriteBoolean("include_usage", true);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        var content = new ByteArrayContent(buffer.WrittenSpan.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static async Task<string> ErrorMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var buffer = new byte[MaxErrorBody];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false)) > 0)
            {
                read += n;
            }

            var text = Encoding.UTF8.GetString(buffer, 0, read);
            try
            {
                using var document = JsonDocument.Parse(text);
                if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error))
                {
                    return ErrorText(error);
                }
            }
            catch (JsonException)
            {
            }

            return text.Length == 0 ? response.ReasonPhrase ?? "" : text;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return response.ReasonPhrase ?? "";
        }
    }

    private static string ErrorText(JsonElement error) => error.ValueKind switch
    {
        JsonValueKind.String => error.GetString()!,
        JsonValueKind.Object when error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String => m.GetString()!,
        _ => error.GetRawText(),
    };

    /// <summary>What one stream has shown so far. Used by one request at a time.</summary>
    private sealed class StreamState
    {
        private readonly List<double> _gaps = [];
        private long _firstText;
        private long _lastText;
        private int _chunks;
        private int? _usageCompletion;
        private int? _usagePrompt;

        public bool Finished { get; set; }

        public string? FinishReason { get; private set; }

        public void Read(JsonElement root, long now)
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                if (usage.TryGetProperty("completion_tokens", out var c) && c.TryGetInt32(out var completion))
                {
                    _usageCompletion = completion;
                }

                if (usage.TryGetProperty("prompt_tokens", out var p) && p.TryGetInt32(out var prompt))
                {
                    _usagePrompt = prompt;
                }
            }

            if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            foreach (var choice in choices.EnumerateArray())
            {
                if (choice.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                if (choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
                {
                    FinishReason = finish.GetString();
                }

                if (HasText(choice))
                {
                    if (_chunks == 0)
                    {
                        _firstText = now;
                    }
                    else
                    {
                        _gaps.Add(Stopwatch.GetElapsedTime(_lastText, now).TotalMilliseconds);
                    }

                    _lastText = now;
                    _chunks++;
                }
            }
        }

        public RequestSample Result(double startMs, long sent) => new()
        {
            StartMs = startMs,
            TtftMs = _chunks > 0 ? Stopwatch.GetElapsedTime(sent, _firstText).TotalMilliseconds : null,
            E2eMs = Stopwatch.GetElapsedTime(sent).TotalMilliseconds,
            OutputTokens = _usageCompletion ?? _chunks,
            InputTokens = _usagePrompt,
            UsageReported = _usageCompletion is not null,
            ChunkGapsMs = _gaps,
        };

        public RequestSample Failed(double startMs, long sent, string kind, string message) => Result(startMs, sent) with
        {
            Error = kind,
            ErrorMessage = message.Length > 300 ? message[..300] : message,
        };

        // Text in a chat delta (content or reasoning), a whole chat message, or a text completion.
        private static bool HasText(JsonElement choice)
        {
            foreach (var holder in new[] { "delta", "message" })
            {
                if (choice.TryGetProperty(holder, out var delta) && delta.ValueKind == JsonValueKind.Object)
                {
                    foreach (var field in new[] { "content", "reasoning_content", "reasoning" })
                    {
                        if (delta.TryGetProperty(field, out var text) && text.ValueKind == JsonValueKind.String && text.GetString()!.Length > 0)
                        {
                            return true;
                        }
                    }
                }
            }

            return choice.TryGetProperty("text", out var raw) && raw.ValueKind == JsonValueKind.String && raw.GetString()!.Length > 0;
        }
    }
}
