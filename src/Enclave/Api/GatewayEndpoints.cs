using System.Text.Json;
using Enclave.Backends;
using Enclave.Security.Audit;
using Enclave.Security.Auth;
using Enclave.Security.Keys;
using Enclave.Security.Limits;
using Microsoft.Extensions.Options;

namespace Enclave.Api;

/// <summary>
/// The client-facing OpenAI surface of the gateway: checks the body, resolves the model, and forwards to the
/// model's worker. Streams are relayed event by event; if the worker dies after the first byte, the client gets
/// a final error event instead of a clean finish.
/// </summary>
public static partial class GatewayEndpoints
{
    public static IEndpointRouteBuilder MapOpenAiGateway(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", (HttpContext c, ForwardServices s) => ForwardAsync(c, s, "v1/chat/completions"))
            .RequireAuthorization(AuthPolicies.Inference);
        app.MapPost("/v1/completions", (HttpContext c, ForwardServices s) => ForwardAsync(c, s, "v1/completions"))
            .RequireAuthorization(AuthPolicies.Inference);
        app.MapPost("/v1/embeddings", (HttpContext c, ForwardServices s) => ForwardAsync(c, s, "v1/embeddings"))
            .RequireAuthorization(AuthPolicies.Embeddings);
        app.MapGet("/v1/models", ListModels).RequireAuthorization(AuthPolicies.Models);
        app.MapGet("/v1/models/{**id}", (string id, HttpContext c, ModelRouter r, IOptions<ModelsOptions> o, LocalModels l) =>
            r.PublicModels().FirstOrDefault(m => m.Model == id) is not { Model: not null } found || !EnclaveClaims.CanUseModel(c.User, id)
                ? ApiError.ModelNotFound(id).ToResult()
                : Results.Json(ModelEntry(found.Model, found.Owner, o.Value, LocalStatus(l))))
            .RequireAuthorization(AuthPolicies.Models);
        return app;
    }


    private static IResult ListModels(HttpContext context, ModelRouter router, IOptions<ModelsOptions> options, LocalModels models)
    {
        var status = LocalStatus(models);
        return Results.Json(new
        {
            @object = "list",
            data = router.PublicModels().Where(m => EnclaveClaims.CanUseModel(context.User, m.Model)).Select(m => ModelEntry(m.Model, m.Owner, options.Value, status)).ToArray(),
        });
    }

    private static Dictionary<string, string> LocalStatus(LocalModels models) =>
        models.Residency().ToDictionary(r => r.Model, r => r.Status, StringComparer.Ordinal);

    // Local models carry a non-standard "status" (loaded, loading, unloaded); OpenAI clients ignore unknown fields.
    private static object ModelEntry(string name, string owner, ModelsOptions options, Dictionary<string, string> localStatus)
    {
        var path = options.Models.TryGetValue(name, out var local) ? local.Path : null;
        var created = path is not null && File.Exists(path) ? new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeSeconds() : 0;
        return localStatus.TryGetValue(name, out var status) && owner == "enclave"
            ? new { id = name, @object = "model", created, owned_by = owner, status }
            : new { id = name, @object = "model", created, owned_by = owner };
    }

    /// <summary>
    /// Checks, authorizes, limits and meters one inference request, then hands it to <see cref="UpstreamProxy"/>
    /// for the backends the router plans. Other surfaces (the Ollama API) call this with their request already
    /// translated into OpenAI's shape in the request body.
    /// </summary>
    internal static async Task ForwardAsync(HttpContext context, ForwardServices services, string path, string? route = null)
    {
        var logger = services.Loggers.CreateLogger("Enclave.Api");
        var meter = new RequestMeter(context, route ?? "/" + path, services.Time, services.Ledger, services.Telemetry, logger);
        using var activity = Telemetry.GatewayTracing.StartRequest(route ?? "/" + path, context.TraceIdentifier);
        meter.Activity = activity;
        LimitLease? lease = null;
        try
        {
            var limits = services.Limits.Value;
            long promptBound;
            long completionBound;
            IReadOnlyList<Candidate> plan;
            UpstreamProxy.ClientRequest request;
            using (var guarded = await RequestGuard.ReadAsync(context.Request, limits, context.RequestAborted))
            {
                meter.Model = guarded.Model;
                var root = guarded.Document.RootElement;
                activity?.SetTag("gen_ai.request.model", guarded.Model);
                PromptLog.Write(services.Loggers, context.TraceIdentifier, guarded.Model, root);
                meter.Stream = root.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;

                // A model outside the key's globs answers exactly like a model that does not exist.
                plan = EnclaveClaims.CanUseModel(context.User, meter.Model) ? services.Router.Plan(meter.Model) : [];
                if (plan.Count == 0)
                {
                    throw new ApiErrorException(ApiError.ModelNotFound(meter.Model));
                }

                var context0 = plan[0].Backend.IsLocal ? services.Models.Find(plan[0].UpstreamModel)?.ContextPerSequence : null;
                promptBound = TokenEstimate.PromptUpperBound(root);
                completionBound = TokenEstimate.MaxCompletion(root, context0 ?? 4096);
                var wantsUsage = root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object
                    && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
                context.Request.Body.Position = 0;
                using var copy = new MemoryStream();
                await context.Request.Body.CopyToAsync(copy, context.RequestAborted);
                request = new UpstreamProxy.ClientRequest(path.StartsWith("v1/", StringComparison.Ordinal) ? path[3..] : path, copy.ToArray(), meter.Stream, wantsUsage, TokenEstimate.PromptGuess(root));
            }

            if (context.Items[ApiKeyAuthenticationHandler.KeyItem] is ApiKeyRecord key)
            {
                var decision = await services.Limiter.TryAdmitAsync(key, promptBound + completionBound, context.RequestAborted);
                RateLimitHeaders.Apply(context.Response, decision.Snapshot);
                if (!decision.IsAdmitted)
                {
                    await services.Audit.AppendAsync(
                        new AuditEvent("limits.rejected", key.Id, "denied", context.Request.Path.Value, context.TraceIdentifier, context.Connection.RemoteIpAddress?.ToString(),
                            new Dictionary<string, string> { ["limit"] = decision.Rejection.Kind.ToString().ToLowerInvariant(), ["model"] = meter.Model }),
                        context.RequestAborted);
                    services.Telemetry.RecordLimitRejection(decision.Rejection.Kind.ToString().ToLowerInvariant());
                    throw new ApiErrorException(LimitErrors.From(decision.Rejection));
                }

                lease = decision.Lease;
            }

            await UpstreamProxy.RunAsync(context, services, plan, request, meter, logger);
        }
        catch (ApiErrorException ex)
        {
            meter.Fail(ex.Error.Status, ex.Error.Code);
            await meter.CommitAsync();
            await ex.Error.WriteResponseAsync(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            if (Hosting.GracefulShutdown.TryResumeAfterCut(context))
            {
                await AnswerShutdownCutAsync(context, meter, context.Response.Body);
            }
            else
            {
                meter.Fail(StatusCodes.Status499ClientClosedRequest, "client_closed");
            }
        }
        finally
        {
            await meter.CommitAsync();
            if (lease is not null)
            {
                await lease.SettleAsync(meter.PromptTokens + meter.CompletionTokens);
                await lease.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Answers a request the shutdown deadline cut (see <see cref="Hosting.GracefulShutdown.TryResumeAfterCut"/>): its
    /// record first, then a 503 with Retry-After or, on a stream already started, the final error event on
    /// <paramref name="client"/>.
    /// </summary>
    internal static async Task AnswerShutdownCutAsync(HttpContext context, RequestMeter meter, Stream client)
    {
        var error = Hosting.GracefulShutdown.ShuttingDown;
        var started = context.Response.HasStarted;
        meter.Fail(started ? StatusCodes.Status200OK : error.Status, error.Code);
        await meter.CommitAsync();
        if (!started)
        {
            context.Response.Headers.RetryAfter = Hosting.GracefulShutdown.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await error.WriteResponseAsync(context);
        }
        else if (context.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) == true)
        {
            await SseRelay.WriteEventAsync(client, error.ToJsonBytes(), context.RequestAborted);
        }
    }

    /// <summary>
    /// Relays the worker's answer and fills the meter. The usage record is committed before the response's final
    /// byte: before a whole JSON body, and before a stream's <c>[DONE]</c> or final error event.
    /// </summary>
    internal static async Task RelayAsync(HttpContext context, HttpResponseMessage upstream, ILogger logger, RequestMeter meter)
    {
        var response = context.Response;
        response.StatusCode = (int)upstream.StatusCode;
        if (upstream.Headers.RetryAfter is { } retry)
        {
            response.Headers.RetryAfter = retry.ToString();
        }

        var mediaType = upstream.Content.Headers.ContentType?.MediaType;
        response.ContentType = upstream.Content.Headers.ContentType?.ToString() ?? "application/json";
        var ct = context.RequestAborted;
        if (mediaType != "text/event-stream")
        {
            byte[] whole;
            try
            {
                whole = await upstream.Content.ReadAsByteArrayAsync(ct);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException && !ct.IsCancellationRequested)
            {
                LogWorkerLost(logger, meter.Model, ex);
                throw new ApiErrorException(ApiError.Unavailable($"The worker for '{meter.Model}' stopped before answering. Retry the request.", "worker_unavailable"));
            }

            ReadWholeBody(whole, (int)upstream.StatusCode, meter);
            meter.Timing = upstream.Headers.TryGetValues(EngineTiming.Header, out var timing) ? EngineTiming.ParseHeader(timing.FirstOrDefault()) : null;
            await meter.CommitAsync();
            await response.Body.WriteAsync(whole, ct);
            return;
        }

        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.StartAsync(ct);
        var relay = new SseRelay { HoldFinalEvent = true };
        await using var client = SlowReaderGuard.For(context, response.Body);
        try
        {
            await using var body = await upstream.Content.ReadAsStreamAsync(ct);
            await relay.CopyAsync(body, client, ct);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidDataException && !ct.IsCancellationRequested)
        {
            LogWorkerLost(logger, meter.Model, ex);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException && ct.IsCancellationRequested)
        {
            // The client went away or read too slowly (SlowReaderGuard aborted it), or the shutdown cut the stream.
            // Either way the record below gets the tokens relayed so far.
        }

        meter.FirstTextTimestamp = relay.FirstContentTimestamp;
        meter.FinishReason = relay.FinishReason;
        meter.Timing = relay.Timing;
        (meter.PromptTokens, meter.CompletionTokens) = relay.Usage ?? (0, relay.DataEvents);
        if (ct.IsCancellationRequested)
        {
            if (Hosting.GracefulShutdown.TryResumeAfterCut(context))
            {
                await AnswerShutdownCutAsync(context, meter, client);
            }
            else
            {
                meter.Fail(StatusCodes.Status499ClientClosedRequest, "client_closed");
            }

            return;
        }

        if (!relay.Finished)
        {
            meter.Fail(StatusCodes.Status200OK, "worker_crashed");
            await meter.CommitAsync();
            var error = ApiError.Unavailable("The model worker stopped during generation; the response is incomplete.", "worker_crashed");
            await SseRelay.WriteEventAsync(client, error.ToJsonBytes(), ct);
            return;
        }

        if (relay.Usage is null)
        {
            meter.Fail(StatusCodes.Status200OK, "stream_error");
        }

        await meter.CommitAsync();
        await relay.WriteFinalEventAsync(client, ct);
    }

    private static void ReadWholeBody(byte[] body, int status, RequestMeter meter)
    {
        meter.Status = status;
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                meter.PromptTokens = usage.TryGetProperty("prompt_tokens", out var p) && p.TryGetInt32(out var pn) ? pn : 0;
                meter.CompletionTokens = usage.TryGetProperty("completion_tokens", out var c) && c.TryGetInt32(out var cn) ? cn : 0;
            }

            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
                && choices[0].TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
            {
                meter.FinishReason = finish.GetString();
            }

            if (status >= 400)
            {
                meter.ErrorCode = root.TryGetProperty("error", out var error) && error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String
                    ? code.GetString()
                    : "error";
            }
        }
        catch (JsonException)
        {
            meter.ErrorCode ??= status >= 400 ? "error" : null;
        }
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Error, Message = "Worker for {Model} was lost during a response")]
    private static partial void LogWorkerLost(ILogger logger, string model, Exception error);
}
