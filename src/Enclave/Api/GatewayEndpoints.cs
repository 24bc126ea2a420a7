using System.Text;
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
    private static readonly TimeSpan ReadyWait = TimeSpan.FromSeconds(30);

    public static IEndpointRouteBuilder MapOpenAiGateway(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", (HttpContext c, ForwardServices s) => ForwardAsync(c, s, "v1/chat/completions"))
            .RequireAuthorization(AuthPolicies.Inference);
        app.MapPost("/v1/completions", (HttpContext c, ForwardServices s) => ForwardAsync(c, s, "v1/completions"))
            .RequireAuthorization(AuthPolicies.Inference);
        app.MapPost("/v1/embeddings", (HttpContext c, ForwardServices s) => ForwardAsync(c, s, "v1/embeddings"))
            .RequireAuthorization(AuthPolicies.Embeddings);
        app.MapGet("/v1/models", ListModels).RequireAuthorization(AuthPolicies.Models);
        app.MapGet("/v1/models/{**id}", (string id, HttpContext c, LocalModels m, IOptions<ModelsOptions> o) =>
            m.Find(id) is null || !EnclaveClaims.CanUseModel(c.User, id) ? ApiError.ModelNotFound(id).ToResult() : Results.Json(ModelEntry(id, o.Value)))
            .RequireAuthorization(AuthPolicies.Models);
        return app;
    }


    private static IResult ListModels(HttpContext context, LocalModels models, IOptions<ModelsOptions> options) => Results.Json(new
    {
        @object = "list",
        data = models.All.Where(w => EnclaveClaims.CanUseModel(context.User, w.Name)).Select(w => ModelEntry(w.Name, options.Value)).ToArray(),
    });

    private static object ModelEntry(string name, ModelsOptions options)
    {
        var path = options.Models[name].Path;
        var created = File.Exists(path) ? new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeSeconds() : 0;
        return new { id = name, @object = "model", created, owned_by = "enclave" };
    }

    private static async Task ForwardAsync(HttpContext context, ForwardServices services, string path)
    {
        LimitLease? lease = null;
        long used = 0;
        try
        {
            var limits = services.Limits.Value;
            string model;
            long promptBound;
            long completionBound;
            WorkerSupervisor worker;
            using (var guarded = await RequestGuard.ReadAsync(context.Request, limits, context.RequestAborted))
            {
                model = guarded.Model;
                var doc = guarded.Document;

                // A model outside the key's globs answers exactly like a model that does not exist.
                worker = (EnclaveClaims.CanUseModel(context.User, model) ? services.Models.Find(model) : null) ?? throw new ApiErrorException(ApiError.ModelNotFound(model));
                promptBound = TokenEstimate.PromptUpperBound(doc.RootElement);
                completionBound = TokenEstimate.MaxCompletion(doc.RootElement, worker.ContextPerSequence ?? 4096);
            }

            if (context.Items[ApiKeyAuthenticationHandler.KeyItem] is ApiKeyRecord key)
            {
                var decision = await services.Limiter.TryAdmitAsync(key, promptBound + completionBound, context.RequestAborted);
                RateLimitHeaders.Apply(context.Response, decision.Snapshot);
                if (!decision.IsAdmitted)
                {
                    await services.Audit.AppendAsync(
                        new AuditEvent("limits.rejected", key.Id, "denied", context.Request.Path.Value, context.TraceIdentifier, context.Connection.RemoteIpAddress?.ToString(),
                            new Dictionary<string, string> { ["limit"] = decision.Rejection.Kind.ToString().ToLowerInvariant(), ["model"] = model }),
                        context.RequestAborted);
                    throw new ApiErrorException(LimitErrors.From(decision.Rejection));
                }

                lease = decision.Lease;
            }

            if (!await worker.WaitReadyAsync(ReadyWait, context.RequestAborted))
            {
                throw new ApiErrorException(ApiError.Unavailable($"The model '{model}' is not ready yet (its worker is starting or restarting). Retry shortly."));
            }

            context.Request.Body.Position = 0;
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StreamContent(context.Request.Body) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            request.Headers.TryAddWithoutValidation(RequestIdMiddleware.Header, context.TraceIdentifier);
            HttpResponseMessage upstream;
            try
            {
                upstream = await worker.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException && !context.RequestAborted.IsCancellationRequested)
            {
                throw new ApiErrorException(ApiError.Unavailable($"The worker for '{model}' stopped before answering. Retry the request.", "worker_unavailable"));
            }

            using (upstream)
            {
                used = await RelayAsync(context, upstream, services.Loggers.CreateLogger("Enclave.Api"), model) ?? 0;
            }
        }
        catch (ApiErrorException ex)
        {
            await ex.Error.WriteResponseAsync(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        finally
        {
            if (lease is not null)
            {
                await lease.SettleAsync(used);
                await lease.DisposeAsync();
            }
        }
    }

    /// <summary>Relays the worker's answer; returns the tokens it used (prompt plus completion) when known.</summary>
    private static async Task<long?> RelayAsync(HttpContext context, HttpResponseMessage upstream, ILogger logger, string model)
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
                LogWorkerLost(logger, model, ex);
                throw new ApiErrorException(ApiError.Unavailable($"The worker for '{model}' stopped before answering. Retry the request.", "worker_unavailable"));
            }

            await response.Body.WriteAsync(whole, ct);
            return UsageOf(whole);
        }

        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.StartAsync(ct);
        var relay = new SseRelay();
        try
        {
            await using var body = await upstream.Content.ReadAsStreamAsync(ct);
            await relay.CopyAsync(body, response.Body, ct);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            LogWorkerLost(logger, model, ex);
        }

        var tokens = relay.Usage is { } usage ? usage.PromptTokens + usage.CompletionTokens : (long?)null;
        if (!relay.Finished && !ct.IsCancellationRequested)
        {
            var error = ApiError.Unavailable("The model worker stopped during generation; the response is incomplete.", "worker_crashed");
            await response.WriteAsync("data: " + Encoding.UTF8.GetString(error.ToJsonBytes()) + "\n\n", Encoding.UTF8, ct);
            await response.Body.FlushAsync(ct);
        }

        return tokens ?? relay.DataEvents;
    }

    private static long? UsageOf(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
                && usage.TryGetProperty("total_tokens", out var total) && total.TryGetInt64(out var n) ? n : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Error, Message = "Worker for {Model} was lost during a response")]
    private static partial void LogWorkerLost(ILogger logger, string model, Exception error);
}
