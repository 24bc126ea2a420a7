using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Enclave.Engine;

namespace Enclave.Bench;

/// <summary>One way to run a greedy generation stream and time it.</summary>
internal interface IGenerationPath
{
    string Name { get; }

    Task<StreamSample> RunAsync(Prompt prompt, int maxTokens, CancellationToken cancellationToken);

    /// <summary>The engine's llama_decode step counter, or null when it cannot be read.</summary>
    Task<long?> DecodeStepsAsync(CancellationToken cancellationToken);
}

/// <summary>The engine in this process: TrySubmit and the event channel, timed by the engine itself.</summary>
internal sealed class RawEnginePath(InferenceEngine engine, TimeSpan timeout) : IGenerationPath
{
    public string Name => "raw";

    public Task<long?> DecodeStepsAsync(CancellationToken cancellationToken) => Task.FromResult<long?>(engine.GetStatus().DecodeSteps);

    public async Task<StreamSample> RunAsync(Prompt prompt, int maxTokens, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var start = Stopwatch.GetTimestamp();
        var request = new GenerationRequest { PromptTokens = prompt.Tokens, Sampling = SamplingOptions.Greedy, MaxTokens = maxTokens };
        var status = engine.TrySubmit(request, cts.Token, out var events);
        if (status != AdmissionStatus.Accepted)
        {
            throw new BenchException($"The engine refused the request: {status}.");
        }

        var chunks = 0;
        GenerationFinished? finished = null;
        await foreach (var item in events!.ReadAllAsync(cts.Token))
        {
            switch (item)
            {
                case TextDelta delta when delta.Text.Length > 0:
                    chunks++;
                    break;
                case GenerationFinished f:
                    finished = f;
                    break;
                case GenerationFailed failed:
                    throw new BenchException($"The engine failed the request: {failed.Code}: {failed.Message}");
            }
        }

        var wall = Stopwatch.GetElapsedTime(start);
        if (finished is null || finished.Reason == FinishReason.Cancelled)
        {
            throw new BenchException("The engine stream ended without finishing (timed out or cancelled).");
        }

        // The engine's own clock: TTFT from admission to the first sampled token, duration to the last one.
        return new StreamSample(
            finished.PromptTokens,
            finished.CompletionTokens,
            finished.TimeToFirstToken,
            finished.Duration - finished.TimeToFirstToken,
            wall,
            chunks,
            finished.Reason.ToString().ToLowerInvariant());
    }
}

/// <summary>
/// A real client of <c>enclave serve</c>: streamed <c>POST /v1/completions</c>, timed as the client sees it. TTFT
/// runs from sending the request to the first chunk with text; decode time from that chunk to the chunk that
/// carries <c>finish_reason</c>. Token counts come from the usage chunk.
/// </summary>
internal sealed class HttpGatewayPath(HttpClient client, string model, TimeSpan timeout) : IGenerationPath
{
    public string Name => "http";

    /// <summary>Reads the worker's engine status from the gateway's <c>GET /admin/workers</c>.</summary>
    public async Task<long?> DecodeStepsAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(5));
            var text = await client.GetStringAsync(new Uri("admin/workers", UriKind.Relative), cts.Token);
            using var doc = JsonDocument.Parse(text);
            foreach (var worker in doc.RootElement.GetProperty("workers").EnumerateArray())
            {
                if (worker.TryGetProperty("engine", out var engine) && engine.ValueKind == JsonValueKind.Object)
                {
                    foreach (var property in engine.EnumerateObject())
                    {
                        if (property.NameEquals("decodeSteps") || property.NameEquals("DecodeSteps") || property.NameEquals("decode_steps"))
                        {
                            return property.Value.GetInt64();
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // Diagnostics only: an older or newer gateway may not expose the counter.
        }

        return null;
    }

    public async Task<StreamSample> RunAsync(Prompt prompt, int maxTokens, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = new ByteArrayContent(Body(prompt.Text, maxTokens)) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        var start = Stopwatch.GetTimestamp();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(cts.Token);
            throw new BenchException($"The gateway answered {(int)response.StatusCode}: {text}");
        }

        long first = 0, last = 0, finishedAt = 0;
        var chunks = 0;
        int? promptTokens = null, completionTokens = null;
        string? finishReason = null;
        var done = false;
        await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
        await foreach (var item in SseParser.Create(body).EnumerateAsync(cts.Token))
        {
            var now = Stopwatch.GetTimestamp();
            if (item.Data == "[DONE]")
            {
                done = true;
                break;
            }

            using var doc = JsonDocument.Parse(item.Data);
            var root = doc.RootElement;
            if (root.TryGetProperty("error", out var error))
            {
                throw new BenchException("The gateway streamed an error: " + error.GetRawText());
            }

            if (root.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0)
            {
                var choice = choices[0];
                if (choice.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String && t.GetString()!.Length > 0)
                {
                    chunks++;
                    first = first == 0 ? now : first;
                    last = now;
                }

                if (choice.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String)
                {
                    finishReason = f.GetString();
                    finishedAt = now;
                }
            }

            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                promptTokens = usage.GetProperty("prompt_tokens").GetInt32();
                completionTokens = usage.GetProperty("completion_tokens").GetInt32();
            }
        }

        var wall = Stopwatch.GetElapsedTime(start);
        if (!done || promptTokens is null || completionTokens is null || finishReason is null)
        {
            throw new BenchException("The gateway stream ended without a finish chunk, a usage chunk and [DONE].");
        }

        // A stream whose tokens all decoded to empty text still has a first token: fall back to the finish chunk.
        first = first == 0 ? finishedAt : first;
        var end = Math.Max(finishedAt, last);
        return new StreamSample(
            promptTokens.Value,
            completionTokens.Value,
            Stopwatch.GetElapsedTime(start, first),
            Stopwatch.GetElapsedTime(first, end),
            wall,
            chunks,
            finishReason);
    }

    private byte[] Body(string prompt, int maxTokens)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            w.WriteString("prompt", prompt);
            w.WriteNumber("max_tokens", maxTokens);
            w.WriteNumber("temperature", 0);
            w.WriteBoolean("stream", true);
            w.WriteStartObject("stream_options");
            w.WriteBoolean("include_usage", true);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }
}

/// <summary>A benchmark step failed; the message says which and why.</summary>
internal sealed class BenchException : Exception
{
    public BenchException(string message) : base(message)
    {
    }

    public BenchException()
    {
    }

    public BenchException(string message, Exception inner) : base(message, inner)
    {
    }
}
