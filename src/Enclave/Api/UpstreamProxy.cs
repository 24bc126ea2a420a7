using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Enclave.Backends;

namespace Enclave.Api;

/// <summary>
/// Sends one client request to the candidates the router planned, until one answers: retries and failover only
/// before the first byte reaches the client and only for failures that are safe to retry (connection failures,
/// 429, 500/502/503/504, timeouts), honouring <c>Retry-After</c> within the request's time budget. Once a
/// stream has started, an upstream failure ends it with an error event, never a clean finish.
/// </summary>
internal static partial class UpstreamProxy
{
    /// <summary>Upstream error bodies are read up to this many bytes.</summary>
    private const int ErrorBodyLimit = 64 * 1024;

    /// <summary>A whole (non-streamed) answer may be this large (embeddings of many inputs).</summary>
    private const int BodyLimit = 64 * 1024 * 1024;

    public const string BackendHeader = "x-enclave-backend";

    private static readonly byte[] DoneEvent = "data: [DONE]\n\n"u8.ToArray();

    private enum FailureKind
    {
        Unreachable,
        Timeout,
        RateLimited,
        ServerError,
        CircuitOpen,
        Busy,
        NotReady,
    }

    private sealed record Failure(FailureKind Kind, Backend Backend, int Status = 0, TimeSpan? RetryAfter = null, string? Detail = null);

    /// <summary>What the gateway knows about the client's request, for every attempt.</summary>
    internal sealed record ClientRequest(string Path, byte[] Body, bool Stream, bool ClientWantsUsage, int PromptGuess);

    public static async Task RunAsync(HttpContext context, ForwardServices services, IReadOnlyList<Candidate> plan, ClientRequest request, RequestMeter meter, ILogger logger)
    {
        var resilience = services.Routing.Value.Resilience;
        var started = Stopwatch.GetTimestamp();
        var budget = TimeSpan.FromMilliseconds(plan.Max(c => c.Backend.Timeouts.TotalMs));
        var ct = context.RequestAborted;
        Failure? last = null;
        var attempts = 0;
        var sameTargetRetries = 0;
        var i = 0;
        while (i < plan.Count && attempts < resilience.MaxAttempts)
        {
            var candidate = plan[i];
            var backend = candidate.Backend;
            var isLast = i == plan.Count - 1;
            var remaining = budget - Stopwatch.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                last = new Failure(FailureKind.Timeout, backend);
                break;
            }

            if (!backend.Breaker.TryAcquire())
            {
                last ??= new Failure(FailureKind.CircuitOpen, backend, RetryAfter: backend.Breaker.RetryAfter);
                i++;
                continue;
            }

            if (!backend.TryEnter())
            {
                backend.Breaker.RecordNeutral();
                last ??= new Failure(FailureKind.Busy, backend);
                i++;
                continue;
            }

            attempts++;
            Failure? failure;
            try
            {
                failure = await AttemptAsync(context, services, candidate, request, meter, isLast, remaining, logger);
            }
            finally
            {
                backend.Exit();
            }

            if (failure is null)
            {
                return;
            }

            last = failure;
            services.Telemetry.RecordUpstreamFailure(backend.Name, failure.Kind.ToString().ToLowerInvariant());
            LogAttemptFailed(logger, context.TraceIdentifier, backend.Name, failure.Kind.ToString(), failure.Status);

            // The last candidate is retried in place for failures that may pass (never after a timeout); any other
            // candidate hands over to the next one at once.
            if (isLast && failure.Kind is FailureKind.Unreachable or FailureKind.RateLimited or FailureKind.ServerError && attempts < resilience.MaxAttempts && !backend.IsLocal)
            {
                var wait = failure.RetryAfter ?? Backoff(sameTargetRetries++);
                if (wait > TimeSpan.FromMilliseconds(resilience.MaxRetryAfterMs) || wait >= budget - Stopwatch.GetElapsedTime(started))
                {
                    break;
                }

                await Task.Delay(wait, ct);
                continue;
            }

            i++;
        }

        throw new ApiErrorException(ToError(context, last ?? new Failure(FailureKind.Unreachable, plan[0].Backend), meter.Model));
    }

    /// <summary>One attempt; null when it answered the client (successfully or with a passed-through error).</summary>
    private static async Task<Failure?> AttemptAsync(HttpContext context, ForwardServices services, Candidate candidate, ClientRequest request, RequestMeter meter, bool isLast, TimeSpan remaining, ILogger logger)
    {
        var backend = candidate.Backend;
        var ct = context.RequestAborted;
        meter.Backend = backend.Name;
        using var span = Telemetry.GatewayTracing.StartUpstream(backend.Name, candidate.UpstreamModel, backend.Address);
        meter.UpstreamActivity = span;
        var readyWait = backend.IsLocal ? (isLast ? Min(TimeSpan.FromSeconds(30), remaining) : TimeSpan.FromMilliseconds(200)) : TimeSpan.Zero;
        var endpoint = await backend.ResolveAsync(candidate.UpstreamModel, request.Path, readyWait, ct);
        if (endpoint is not { } target)
        {
            backend.Breaker.RecordNeutral();
            var refusal = backend.Refusal(candidate.UpstreamModel);
            return new Failure(FailureKind.NotReady, backend, RetryAfter: refusal?.RetryAfter, Detail: refusal?.Message);
        }

        // Held until the attempt ends, relayed stream included: a local model is never unloaded while serving.
        using var lease = target.Lease;

        using var message = new HttpRequestMessage(HttpMethod.Post, target.Address)
        {
            Content = new ByteArrayContent(BodyFor(candidate, request, meter.Model)),
        };
        message.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        message.Headers.TryAddWithoutValidation(RequestIdMiddleware.Header, context.TraceIdentifier);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var firstTokenLimit = request.Stream ? Min(TimeSpan.FromMilliseconds(backend.Timeouts.FirstTokenMs), remaining) : remaining;
        deadline.CancelAfter(firstTokenLimit);
        HttpResponseMessage response;
        try
        {
            response = await target.Client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            backend.Breaker.RecordFailure();
            return new Failure(FailureKind.Timeout, backend);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            backend.Breaker.RecordFailure();
            return new Failure(FailureKind.Unreachable, backend);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            // Which backend answered, for operators and clients debugging a route (a name, never an address).
            context.Response.Headers[BackendHeader] = backend.Name;
            span?.SetTag("http.response.status_code", status);
            if (backend.IsLocal)
            {
                // The worker's own errors (queue full, context too long) are the answer when nothing else serves the model.
                if (status >= 400 && !isLast && status is 429 or >= 500)
                {
                    backend.Breaker.RecordNeutral();
                    return new Failure(status == 429 ? FailureKind.RateLimited : FailureKind.ServerError, backend, status);
                }

                backend.Breaker.RecordSuccess();
                await GatewayEndpoints.RelayAsync(context, response, logger, meter);
                return null;
            }

            if (status is 429)
            {
                backend.Breaker.RecordNeutral();
                return new Failure(FailureKind.RateLimited, backend, status, RetryAfterOf(response, services.Time));
            }

            if (status is 500 or 502 or 503 or 504)
            {
                backend.Breaker.RecordFailure();
                await DrainAsync(response, ct);
                return new Failure(FailureKind.ServerError, backend, status, RetryAfterOf(response, services.Time));
            }

            if (status is < 200 or >= 300)
            {
                backend.Breaker.RecordNeutral();
                await PassThroughErrorAsync(context, response, backend, meter);
                return null;
            }

            if (!request.Stream || response.Content.Headers.ContentType?.MediaType != "text/event-stream")
            {
                byte[] whole;
                try
                {
                    whole = await ReadLimitedAsync(response, BodyLimit, deadline.Token);
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException && !ct.IsCancellationRequested)
                {
                    backend.Breaker.RecordFailure();
                    return new Failure(ex is OperationCanceledException ? FailureKind.Timeout : FailureKind.Unreachable, backend);
                }

                backend.Breaker.RecordSuccess();
                await WriteWholeAsync(context, whole, status, request, meter);
                return null;
            }

            // Nothing reaches the client before the upstream's first event, so a slow or broken start can still fail over.
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            using var reader = new UpstreamSseReader(body);
            byte[]? first;
            try
            {
                first = await reader.NextAsync(deadline.Token);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidDataException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                backend.Breaker.RecordFailure();
                return new Failure(ex is OperationCanceledException ? FailureKind.Timeout : FailureKind.Unreachable, backend);
            }

            if (first is null)
            {
                backend.Breaker.RecordFailure();
                return new Failure(FailureKind.Unreachable, backend);
            }

            var outcome = await RelayStreamAsync(context, reader, first, backend, request, meter, logger);
            if (outcome)
            {
                backend.Breaker.RecordSuccess();
            }
            else if (!ct.IsCancellationRequested)
            {
                backend.Breaker.RecordFailure();
            }
            else
            {
                backend.Breaker.RecordNeutral();
            }

            return null;
        }
    }

    /// <summary>The body for one candidate: its upstream model name, and usage asked for on streams.</summary>
    private static byte[] BodyFor(Candidate candidate, ClientRequest request, string publicModel)
    {
        if (candidate.Backend.IsLocal && candidate.UpstreamModel == publicModel)
        {
            return request.Body;
        }

        var node = JsonNode.Parse(request.Body)!.AsObject();
        node["model"] = candidate.UpstreamModel;
        if (request.Stream && !candidate.Backend.IsLocal)
        {
            var options = node["stream_options"] as JsonObject ?? [];
            options["include_usage"] = true;
            node["stream_options"] = options;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>(request.Body.Length + 64);
        using (var writer = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            node.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Relays a started upstream stream; true when it ended properly.</summary>
    private static async Task<bool> RelayStreamAsync(HttpContext context, UpstreamSseReader reader, byte[] first, Backend backend, ClientRequest request, RequestMeter meter, ILogger logger)
    {
        var ct = context.RequestAborted;
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.StartAsync(ct);
        await using var client = SlowReaderGuard.For(context, response.Body);

        (int Prompt, int Completion)? usage = null;
        var contentEvents = 0;
        string? finish = null;
        string? endCode = null;
        byte[]? errorEvent = null;
        var done = false;
        var idle = TimeSpan.FromMilliseconds(backend.Timeouts.IdleMs);
        var data = first;
        try
        {
            while (true)
            {
                if (data.AsSpan().SequenceEqual("[DONE]"u8))
                {
                    done = true;
                    break;
                }

                JsonDocument doc;
                try
                {
                    doc = JsonDocument.Parse(data);
                }
                catch (JsonException)
                {
                    endCode = "upstream_invalid_response";
                    break;
                }

                using (doc)
                {
                    var root = doc.RootElement;
                    if (root.ValueKind != JsonValueKind.Object)
                    {
                        endCode = "upstream_invalid_response";
                        break;
                    }

                    if (root.TryGetProperty("error", out var error))
                    {
                        endCode = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : "upstream_error";
                        errorEvent = data;
                        break;
                    }

                    var hasChoices = root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0;
                    if (root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
                    {
                        usage = (Int(u, "prompt_tokens"), Int(u, "completion_tokens"));
                    }

                    if (hasChoices)
                    {
                        var choice = choices[0];
                        if (HasText(choice))
                        {
                            contentEvents++;
                            if (meter.FirstTextTimestamp == 0)
                            {
                                meter.FirstTextTimestamp = Stopwatch.GetTimestamp();
                            }
                        }

                        if (choice.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String)
                        {
                            finish = f.GetString();
                        }
                    }

                    // The usage chunk was asked for by the gateway; a client that did not ask does not get it.
                    if (hasChoices || request.ClientWantsUsage || !root.TryGetProperty("usage", out _))
                    {
                        await SseRelay.WriteEventAsync(client, data, ct);
                    }
                }

                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                wait.CancelAfter(idle);
                byte[]? next;
                try
                {
                    next = await reader.NextAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    endCode = "upstream_idle_timeout";
                    break;
                }
                catch (InvalidDataException)
                {
                    endCode = "upstream_invalid_response";
                    break;
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException && !ct.IsCancellationRequested)
                {
                    endCode = "upstream_stream_interrupted";
                    break;
                }

                if (next is null)
                {
                    // A clean close after the finish reason is a finished stream that lost its [DONE].
                    done = finish is not null;
                    endCode = done ? null : "upstream_stream_interrupted";
                    break;
                }

                data = next;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && ct.IsCancellationRequested)
        {
            // The client went away or read too slowly (SlowReaderGuard aborted it), or the shutdown cut the stream.
            Settle(meter, usage, contentEvents, request, finish);
            if (Hosting.GracefulShutdown.TryResumeAfterCut(context))
            {
                await GatewayEndpoints.AnswerShutdownCutAsync(context, meter, client);
            }
            else
            {
                meter.Fail(StatusCodes.Status499ClientClosedRequest, "client_closed");
            }

            return false;
        }

        Settle(meter, usage, contentEvents, request, finish);
        if (done)
        {
            await meter.CommitAsync();
            if (usage is null && request.ClientWantsUsage)
            {
                // The upstream reported none; the client asked, so it gets the gateway's count.
                await SseRelay.WriteEventAsync(client, UsageChunk(meter), ct);
            }

            await client.WriteAsync(DoneEvent, ct);
            await client.FlushAsync(ct);
            return true;
        }

        meter.Fail(StatusCodes.Status200OK, endCode ?? "upstream_error");
        await meter.CommitAsync();
        LogStreamEnded(logger, context.TraceIdentifier, backend.Name, endCode ?? "upstream_error");
        var final = errorEvent ?? new ApiError(StatusCodes.Status502BadGateway, "server_error", endCode, EndMessage(endCode)).ToJsonBytes();
        await SseRelay.WriteEventAsync(client, final, ct);
        return false;
    }

    private static byte[] UsageChunk(RequestMeter meter)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(160);
        using (var w = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            w.WriteStartObject();
            w.WriteString("object", "chat.completion.chunk");
            w.WriteString("model", meter.Model);
            w.WriteStartArray("choices");
            w.WriteEndArray();
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", meter.PromptTokens);
            w.WriteNumber("completion_tokens", meter.CompletionTokens);
            w.WriteNumber("total_tokens", meter.PromptTokens + meter.CompletionTokens);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void Settle(RequestMeter meter, (int Prompt, int Completion)? usage, int contentEvents, ClientRequest request, string? finish)
    {
        (meter.PromptTokens, meter.CompletionTokens) = usage ?? (request.PromptGuess, contentEvents);
        meter.FinishReason = finish;
    }

    private static string EndMessage(string? code) => code switch
    {
        "upstream_idle_timeout" => "The upstream stopped sending during generation; the response is incomplete.",
        "upstream_invalid_response" => "The upstream sent an invalid event; the response is incomplete.",
        _ => "The upstream connection broke during generation; the response is incomplete.",
    };

    private static async Task WriteWholeAsync(HttpContext context, byte[] whole, int status, ClientRequest request, RequestMeter meter)
    {
        meter.Status = status;
        try
        {
            using var doc = JsonDocument.Parse(whole);
            var root = doc.RootElement;
            if (root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
            {
                meter.PromptTokens = Int(u, "prompt_tokens");
                meter.CompletionTokens = Int(u, "completion_tokens");
            }
            else
            {
                meter.PromptTokens = request.PromptGuess;
                meter.CompletionTokens = root.TryGetProperty("choices", out var cs) && cs.ValueKind == JsonValueKind.Array
                    ? cs.EnumerateArray().Sum(c => (TextOf(c).Length + 3) / 4)
                    : 0;
            }

            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
                && choices[0].TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
            {
                meter.FinishReason = finish.GetString();
            }
        }
        catch (JsonException)
        {
            throw new ApiErrorException(new ApiError(StatusCodes.Status502BadGateway, "server_error", "upstream_invalid_response", "The upstream answered with a body that is not JSON."));
        }

        await meter.CommitAsync();
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(whole, context.RequestAborted);
    }

    /// <summary>A non-retryable upstream error (a 4xx): its status and OpenAI envelope go to the client, read up to 64 KiB.</summary>
    private static async Task PassThroughErrorAsync(HttpContext context, HttpResponseMessage response, Backend backend, RequestMeter meter)
    {
        var status = (int)response.StatusCode;
        byte[] body;
        try
        {
            body = await ReadLimitedAsync(response, ErrorBodyLimit, context.RequestAborted, truncate: true);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            body = [];
        }

        ApiError error;
        try
        {
            using var doc = JsonDocument.Parse(body);
            var e = doc.RootElement.GetProperty("error");
            error = new ApiError(
                status is >= 400 and < 500 ? status : StatusCodes.Status502BadGateway,
                Str(e, "type") ?? "invalid_request_error",
                Str(e, "code") ?? "upstream_rejected",
                Str(e, "message") ?? $"The upstream {backend.Name} rejected the request.",
                Str(e, "param"));
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            error = new ApiError(status is >= 400 and < 500 ? status : StatusCodes.Status502BadGateway, "invalid_request_error", "upstream_rejected",
                $"The upstream {backend.Name} rejected the request with status {status}.");
        }

        throw new ApiErrorException(error);
    }

    private static ApiError ToError(HttpContext context, Failure failure, string model)
    {
        void RetryAfter(TimeSpan? wait) =>
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling((wait ?? TimeSpan.FromSeconds(1)).TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        var name = RequestGuard.Printable(model);
        if (failure.Backend.IsLocal)
        {
            if (failure.Kind == FailureKind.NotReady && failure.RetryAfter is not null)
            {
                RetryAfter(failure.RetryAfter);
            }

            return failure.Kind == FailureKind.NotReady
                ? ApiError.Unavailable(failure.Detail ?? $"The model '{name}' is not ready yet (its worker is loading, starting or restarting). Retry shortly.")
                : ApiError.Unavailable($"The worker for '{name}' stopped before answering. Retry the request.", "worker_unavailable");
        }

        switch (failure.Kind)
        {
            case FailureKind.RateLimited:
                RetryAfter(failure.RetryAfter);
                return new ApiError(StatusCodes.Status429TooManyRequests, "rate_limit_exceeded", "upstream_rate_limited", $"Every upstream serving '{name}' is rate limiting. Retry after the time in Retry-After.");
            case FailureKind.ServerError when failure.Status == 503:
            case FailureKind.CircuitOpen:
            case FailureKind.NotReady:
                RetryAfter(failure.RetryAfter);
                return ApiError.Unavailable($"No upstream serving '{name}' is available now. Retry after the time in Retry-After.", "upstream_unavailable");
            case FailureKind.Busy:
                RetryAfter(TimeSpan.FromSeconds(1));
                return ApiError.Unavailable($"Every upstream serving '{name}' is at its concurrency limit. Retry shortly.", "upstream_busy");
            case FailureKind.ServerError:
                return new ApiError(StatusCodes.Status502BadGateway, "server_error", "upstream_error", $"The upstream serving '{name}' failed (status {failure.Status}).");
            case FailureKind.Timeout:
                return new ApiError(StatusCodes.Status504GatewayTimeout, "server_error", "upstream_timeout", $"The upstream serving '{name}' did not answer in time.");
            default:
                return new ApiError(StatusCodes.Status502BadGateway, "server_error", "upstream_unreachable", $"No upstream serving '{name}' could be reached.");
        }
    }

    private static TimeSpan? RetryAfterOf(HttpResponseMessage response, TimeProvider time)
    {
        if (response.Headers.RetryAfter is not { } retry)
        {
            return null;
        }

        if (retry.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        return retry.Date is { } date ? (date - time.GetUtcNow() is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero) : null;
    }

    // Jittered exponential backoff for retrying the same upstream: about 100, 200, 400 ms.
    private static TimeSpan Backoff(int retry) => TimeSpan.FromMilliseconds(100 * Math.Pow(2, retry) * (0.5 + Random.Shared.NextDouble()));

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static async Task DrainAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            await ReadLimitedAsync(response, ErrorBodyLimit, ct, truncate: true);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // The body of a failed attempt is not needed.
        }
    }

    private static async Task<byte[]> ReadLimitedAsync(HttpResponseMessage response, int limit, CancellationToken ct, bool truncate = false)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            var n = await stream.ReadAsync(chunk, ct);
            if (n == 0)
            {
                return buffer.ToArray();
            }

            if (buffer.Length + n > limit)
            {
                if (truncate)
                {
                    buffer.Write(chunk, 0, (int)(limit - buffer.Length));
                    return buffer.ToArray();
                }

                throw new IOException($"The upstream answer is larger than {limit} bytes.");
            }

            buffer.Write(chunk, 0, n);
        }
    }

    private static int Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) && n >= 0 ? n : 0;

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool HasText(JsonElement choice) =>
        (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object && delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String && c.GetString()!.Length > 0)
        || (choice.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String && t.GetString()!.Length > 0);

    private static string TextOf(JsonElement choice) =>
        choice.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.Object && m.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()!
        : choice.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "Request {RequestId}: attempt on backend {Backend} failed ({Kind}, status {Status})")]
    private static partial void LogAttemptFailed(ILogger logger, string requestId, string backend, string kind, int status);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "Request {RequestId}: stream from backend {Backend} ended early ({Code})")]
    private static partial void LogStreamEnded(ILogger logger, string requestId, string backend, string code);
}
