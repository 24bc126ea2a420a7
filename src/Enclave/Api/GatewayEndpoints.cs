using System.Text;
using System.Text.Json;
using Enclave.Backends;
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
        app.MapPost("/v1/chat/completions", (HttpContext c, LocalModels m, IOptions<ApiLimits> l, ILoggerFactory f) => ForwardAsync(c, m, l.Value, f, "v1/chat/completions"));
        app.MapPost("/v1/completions", (HttpContext c, LocalModels m, IOptions<ApiLimits> l, ILoggerFactory f) => ForwardAsync(c, m, l.Value, f, "v1/completions"));
        app.MapPost("/v1/embeddings", (HttpContext c, LocalModels m, IOptions<ApiLimits> l, ILoggerFactory f) => ForwardAsync(c, m, l.Value, f, "v1/embeddings"));
        app.MapGet("/v1/models", ListModels);
        app.MapGet("/v1/models/{**id}", (string id, LocalModels m, IOptions<ModelsOptions> o) =>
            m.Find(id) is null ? Error(ApiError.ModelNotFound(id)) : Results.Json(ModelEntry(id, o.Value)));
        return app;
    }

    private static IResult Error(ApiError error) => Results.Text(System.Text.Encoding.UTF8.GetString(error.ToJsonBytes()), "application/json", System.Text.Encoding.UTF8, error.Status);

    private static IResult ListModels(LocalModels models, IOptions<ModelsOptions> options) => Results.Json(new
    {
        @object = "list",
        data = models.All.Select(w => ModelEntry(w.Name, options.Value)).ToArray(),
    });

    private static object ModelEntry(string name, ModelsOptions options)
    {
        var path = options.Models[name].Path;
        var created = File.Exists(path) ? new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeSeconds() : 0;
        return new { id = name, @object = "model", created, owned_by = "enclave" };
    }

    private static async Task ForwardAsync(HttpContext context, LocalModels models, ApiLimits limits, ILoggerFactory loggers, string path)
    {
        try
        {
            context.Request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: limits.MaxBodyBytes);
            string model;
            using (var doc = await JsonRequest.ParseBodyAsync(context.Request, limits.MaxJsonDepth, context.RequestAborted))
            {
                model = new JsonRequest(doc.RootElement).RequiredString("model");
            }

            var worker = models.Find(model) ?? throw new ApiErrorException(ApiError.ModelNotFound(model));
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
                await RelayAsync(context, upstream, loggers.CreateLogger("Enclave.Api"), model);
            }
        }
        catch (ApiErrorException ex)
        {
            await ex.Error.WriteResponseAsync(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
    }

    private static async Task RelayAsync(HttpContext context, HttpResponseMessage upstream, ILogger logger, string model)
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
            try
            {
                await using var body = await upstream.Content.ReadAsStreamAsync(ct);
                await body.CopyToAsync(response.Body, ct);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException && !ct.IsCancellationRequested)
            {
                // Headers are already sent; the truncated body tells the client the response failed.
                LogWorkerLost(logger, model, ex);
                context.Abort();
            }

            return;
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

        if (!relay.Finished && !ct.IsCancellationRequested)
        {
            var error = ApiError.Unavailable("The model worker stopped during generation; the response is incomplete.", "worker_crashed");
            await response.WriteAsync("data: " + Encoding.UTF8.GetString(error.ToJsonBytes()) + "\n\n", Encoding.UTF8, ct);
            await response.Body.FlushAsync(ct);
        }
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Error, Message = "Worker for {Model} was lost during a response")]
    private static partial void LogWorkerLost(ILogger logger, string model, Exception error);
}
