using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace Enclave.Tests.Backends.Remote;

/// <summary>The inference answers of the wall: healthy ones in OpenAI's shapes, and each injected fault.</summary>
public sealed partial class FaultUpstream
{
    private const long Created = 1_700_000_000;
    private static readonly byte[] Filler = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));

    private async Task InferAsync(HttpContext context)
    {
        string body;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(context.RequestAborted);
        }

        var json = ParseBody(body);
        var model = json is { } j && j.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        var request = Record(context, body, model);
        var inFlight = Interlocked.Increment(ref _inFlight);
        InterlockedMax(ref _maxInFlight, inFlight);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        try
        {
            if (await RefuseAsync(context, request))
            {
                return;
            }

            if (json is null || model is null)
            {
                request.Outcome = "400";
                await WriteErrorAsync(context, 400, "invalid_request_error", "invalid_json", null, "The wall needs a JSON object with a model.", null);
                return;
            }

            var spec = _specs.TryGetValue(model, out var set) ? set : FaultSpec.Parse(model);
            var count = _counts.AddOrUpdate(model, 1, (_, n) => n + 1);
            if (count > spec.FaultyRequests || (spec.FaultPeriod is { } period && (count - 1) % period != 0))
            {
                spec = FaultSpec.Ok;
            }

            await AnswerAsync(context, request, json.Value, model, spec, cancel.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
            // The gateway went away (or the wall is stopping): the abort is the observation.
            request.MarkAborted();
        }
        finally
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                request.MarkAborted();
            }

            request.MarkEnded();
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task AnswerAsync(HttpContext context, UpstreamRequest request, JsonElement json, string model, FaultSpec spec, CancellationToken ct)
    {
        if (spec.ResetBeforeHeaders)
        {
            request.Outcome = "rst";
            Reset(context, request);
            return;
        }

        if (spec.NeverAnswer)
        {
            request.Outcome = "hang";
            request.MarkFault();
            await Task.Delay(Timeout.Infinite, ct);
        }

        if (spec.HugeErrorBytes is { } huge)
        {
            request.Outcome = "huge-error";
            await WriteHugeErrorAsync(context, request, spec, huge, ct);
            return;
        }

        if (spec.ErrorStatus is { } status)
        {
            request.Outcome = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            request.MarkFault();
            await WriteErrorAsync(context, status, spec.ErrorType, spec.ErrorCode, spec.ErrorParam, spec.ErrorMessage, spec.RetryAfterSeconds);
            return;
        }

        var path = context.Request.Path.Value ?? "";
        var shape = path.EndsWith("/embeddings", StringComparison.Ordinal) ? Shape.Embeddings : path.EndsWith("/chat/completions", StringComparison.Ordinal) ? Shape.Chat : Shape.Text;
        var prompt = PromptTokens(json);
        if (shape == Shape.Embeddings)
        {
            await Task.Delay(spec.FirstTokenDelayMs, ct);
            await WriteJsonAsync(context, request, Embeddings(json, model, prompt), ct);
            return;
        }

        var tokens = MaxTokens(json);
        var answer = new Answer(shape, $"{(shape == Shape.Chat ? "chatcmpl" : "cmpl")}-{Name}-{request.Sequence}", model, prompt, tokens, FinishReason: json.TryGetProperty("max_tokens", out _) || json.TryGetProperty("max_completion_tokens", out _) ? "length" : "stop");
        if (json.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True)
        {
            var includeUsage = json.TryGetProperty("stream_options", out var options) && options.ValueKind == JsonValueKind.Object
                && options.TryGetProperty("include_usage", out var include) && include.ValueKind == JsonValueKind.True;
            await StreamAsync(context, request, answer, spec, includeUsage && !spec.OmitUsage, ct);
            return;
        }

        await Task.Delay(spec.FirstTokenDelayMs + spec.StallMs, ct);
        if (spec.CutAfterTokens is not null)
        {
            request.Outcome = "rst";
            Reset(context, request);
            return;
        }

        if (spec.BadJsonAtEvent is not null)
        {
            request.Outcome = "bad-json";
            request.MarkFault();
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"id\":\"WALL-GARBAGE", ct);
            return;
        }

        await WriteJsonAsync(context, request, Whole(answer, spec.OmitUsage), ct);
    }

    private async Task StreamAsync(HttpContext context, UpstreamRequest request, Answer answer, FaultSpec spec, bool includeUsage, CancellationToken ct)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await response.StartAsync(ct);
        await response.Body.FlushAsync(ct);
        request.MarkHeadersSent();
        await Task.Delay(spec.FirstTokenDelayMs, ct);

        var sent = 0;
        async Task SendAsync(string data)
        {
            sent++;
            if (sent == spec.BadJsonAtEvent)
            {
                request.Outcome = "bad-json";
                request.MarkFault();
                data = "{\"id\":\"" + answer.Id + "\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"content\":\"WALL-GARBAGE";
            }

            var bytes = Encoding.UTF8.GetBytes("data: " + data + "\n\n");
            await response.Body.WriteAsync(bytes, ct);
            await response.Body.FlushAsync(ct);
            request.AddEvent(data);
            request.AddBytes(bytes.Length);
        }

        if (answer.Shape == Shape.Chat)
        {
            await SendAsync(Chunk(answer, new JsonObject { ["role"] = "assistant", ["content"] = "" }, null, includeUsage));
        }

        for (var i = 0; i < answer.Tokens; i++)
        {
            if (i == spec.CutAfterTokens)
            {
                request.Outcome = spec.CutMode == CutMode.Reset ? "cut" : "clean-end";
                if (spec.CutMode == CutMode.Reset)
                {
                    // Let the gateway read what was sent, so the reset cuts between events, not inside the last one.
                    await Task.Delay(150, ct);
                    Reset(context, request);
                }
                else
                {
                    request.MarkFault();
                }

                return;
            }

            if (i == spec.StallAfterTokens)
            {
                request.Outcome = "stall";
                request.MarkFault();
                await Task.Delay(spec.StallMs, ct);
            }
            else if (i > 0)
            {
                await Task.Delay(spec.InterTokenDelayMs, ct);
            }

            await SendAsync(Chunk(answer, new JsonObject { ["content"] = TokenText(i) }, null, includeUsage));
        }

        await SendAsync(Chunk(answer, new JsonObject(), answer.FinishReason, includeUsage));
        if (includeUsage)
        {
            await SendAsync(UsageChunk(answer));
        }

        if (spec.OmitDone)
        {
            request.Outcome = "no-done";
            request.MarkFault();
            return;
        }

        await SendAsync("[DONE]");
    }

    private static async Task WriteHugeErrorAsync(HttpContext context, UpstreamRequest request, FaultSpec spec, long length, CancellationToken ct)
    {
        // Chunked, no Content-Length: the reader cannot size its buffer in advance and must stop by itself.
        context.Response.StatusCode = spec.ErrorStatus ?? 400;
        context.Response.ContentType = "application/json";
        var head = Encoding.UTF8.GetBytes("{\"error\":{\"type\":\"" + spec.ErrorType + "\",\"code\":\"huge\",\"param\":null,\"message\":\"");
        await context.Response.Body.WriteAsync(head, ct);
        request.AddBytes(head.Length);
        request.MarkFault();
        var socket = context.Features.Get<IConnectionSocketFeature>()?.Socket;
        while (request.BytesSent < length)
        {
            // Kestrel completes writes to a connection it has already lost as no-ops and signals RequestAborted
            // later, from the thread pool; asking the socket keeps the wall from "sending" 100 MB into the void.
            if (ct.IsCancellationRequested || PeerClosed(socket))
            {
                request.MarkAborted();
                return;
            }

            var flushed = await context.Response.BodyWriter.WriteAsync(Filler, ct);
            request.AddBytes(Filler.Length);
            if (flushed.IsCompleted || flushed.IsCanceled)
            {
                request.MarkAborted();
                return;
            }
        }

        await context.Response.WriteAsync("\"}}", ct);
    }

    /// <summary>True once the peer has closed or reset the connection (readable with nothing to read), or the socket is gone.</summary>
    private static bool PeerClosed(Socket? socket)
    {
        try
        {
            return socket is not null && socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            return true;
        }
    }

    private static async Task WriteJsonAsync(HttpContext context, UpstreamRequest request, JsonObject body, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, ct);
        request.AddEvent(body.ToJsonString());
        request.AddBytes(bytes.Length);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
