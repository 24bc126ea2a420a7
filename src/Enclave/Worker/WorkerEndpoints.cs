using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Enclave.Api;
using Enclave.Engine;
using Microsoft.Extensions.Options;

namespace Enclave.Worker;

/// <summary>
/// The OpenAI-shaped inference surface a worker serves on its Unix socket for its one model. The gateway
/// forwards validated client requests here; handlers bind, call the engine, and write the wire format.
/// </summary>
public static class WorkerEndpoints
{
    public static IEndpointRouteBuilder MapWorkerEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", (HttpContext c, InferenceEngine e, WorkerIdentity id, IOptions<ApiLimits> l, TimeProvider t) =>
            HandleAsync(c, l.Value, async body =>
            {
                var (_, messages) = InferenceRequestReader.ReadChatMessages(body, l.Value);
                RequireGenerative(e, id);
                var tokens = e.Tokenize(e.RenderChat(messages));
                await RunCompletionAsync(c, e, id, body, tokens, chat: true, l.Value, t, "messages");
            }));
        app.MapPost("/v1/completions", (HttpContext c, InferenceEngine e, WorkerIdentity id, IOptions<ApiLimits> l, TimeProvider t) =>
            HandleAsync(c, l.Value, async body =>
            {
                body.RequiredString("model");
                var prompt = InferenceRequestReader.ReadPrompt(body);
                RequireGenerative(e, id);
                var tokens = e.Tokenize(prompt);
                await RunCompletionAsync(c, e, id, body, tokens, chat: false, l.Value, t, "prompt");
            }));
        app.MapPost("/v1/embeddings", (HttpContext c, InferenceEngine e, WorkerIdentity id, IOptions<ApiLimits> l) =>
            HandleAsync(c, l.Value, body => EmbedAsync(c, e, id, body, l.Value)));
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/status", (InferenceEngine e) => Results.Json(e.GetStatus()));
        return app;
    }

    private static void RequireGenerative(InferenceEngine engine, WorkerIdentity id)
    {
        if (!engine.IsGenerative)
        {
            throw new ApiErrorException(ApiError.BadRequest($"The model '{id.Name}' is an embedding model; use /v1/embeddings.", "model", "model_not_supported"));
        }
    }

    private static async Task HandleAsync(HttpContext context, ApiLimits limits, Func<JsonRequest, Task> handle)
    {
        try
        {
            using var doc = await JsonRequest.ParseBodyAsync(context.Request, limits.MaxJsonDepth, context.RequestAborted);
            await handle(new JsonRequest(doc.RootElement));
        }
        catch (ApiErrorException ex)
        {
            await ex.Error.WriteResponseAsync(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
    }

    private static async Task RunCompletionAsync(HttpContext context, InferenceEngine engine, WorkerIdentity id, JsonRequest body,
        int[] tokens, bool chat, ApiLimits limits, TimeProvider time, string promptParam)
    {
        var (generation, stream, includeUsage) = InferenceRequestReader.ReadGeneration(body, tokens, limits);
        switch (engine.TrySubmit(generation, context.RequestAborted, out var events))
        {
            case AdmissionStatus.Accepted:
            {
                using var writer = new CompletionWriter(context, id.Name, chat, time);
                if (stream)
                {
                    await writer.StreamAsync(events!, includeUsage, context.RequestAborted);
                }
                else
                {
                    await writer.CompleteAsync(events!, context.RequestAborted);
                }

                break;
            }

            case AdmissionStatus.ContextLengthExceeded:
                throw new ApiErrorException(ApiError.ContextLengthExceeded(tokens.Length, engine.ContextPerSequence, promptParam));
            case AdmissionStatus.QueueFull:
                throw new ApiErrorException(ApiError.QueueFull());
            case AdmissionStatus.NotGenerative:
                RequireGenerative(engine, id);
                break;
            default:
                throw new ApiErrorException(ApiError.Unavailable("The model is shutting down."));
        }
    }

    private static async Task EmbedAsync(HttpContext context, InferenceEngine engine, WorkerIdentity id, JsonRequest body, ApiLimits limits)
    {
        body.RequiredString("model");
        var inputs = ReadEmbeddingInputs(body, limits);
        var format = body.Has("encoding_format") ? body.RequiredString("encoding_format") : "float";
        if (format is not ("float" or "base64"))
        {
            throw JsonRequest.Bad($"Invalid value for 'encoding_format': '{format}'. Supported values are: 'float' and 'base64'.", "encoding_format");
        }

        var dimensions = body.WholeNumber("dimensions", 1, 1_000_000);
        if (dimensions is not null && dimensions != engine.Model.EmbeddingLength)
        {
            throw JsonRequest.Bad($"Invalid value for 'dimensions': this model produces {engine.Model.EmbeddingLength} dimensions.", "dimensions");
        }

        var outcome = await engine.EmbedAsync(inputs, context.RequestAborted);
        switch (outcome.Status)
        {
            case AdmissionStatus.ContextLengthExceeded:
                throw new ApiErrorException(ApiError.ContextLengthExceeded(outcome.PromptTokens, engine.EmbeddingContextSize, "input"));
            case AdmissionStatus.QueueFull:
                throw new ApiErrorException(ApiError.QueueFull());
            case AdmissionStatus.Accepted:
                break;
            default:
                throw new ApiErrorException(ApiError.Unavailable("The model is shutting down."));
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            for (var i = 0; i < outcome.Vectors.Count; i++)
            {
                w.WriteStartObject();
                w.WriteString("object", "embedding");
                w.WriteNumber("index", i);
                if (format == "base64")
                {
                    w.WriteString("embedding", Convert.ToBase64String(MemoryMarshal.AsBytes(outcome.Vectors[i].AsSpan())));
                }
                else
                {
                    w.WriteStartArray("embedding");
                    foreach (var v in outcome.Vectors[i])
                    {
                        w.WriteNumberValue(v);
                    }

                    w.WriteEndArray();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteString("model", id.Name);
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", outcome.PromptTokens);
            w.WriteNumber("total_tokens", outcome.PromptTokens);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private static List<string> ReadEmbeddingInputs(JsonRequest body, ApiLimits limits)
    {
        var list = body.Strings("input") ?? throw JsonRequest.Bad("Missing required parameter: 'input'.", "input");
        if (list.Count == 0 || list.Count > limits.MaxEmbeddingInputs)
        {
            throw JsonRequest.Bad($"Invalid value for 'input': give 1 to {limits.MaxEmbeddingInputs} inputs.", "input");
        }

        if (list.Any(s => s.Length == 0))
        {
            throw JsonRequest.Bad("Invalid value for 'input': inputs must not be empty strings.", "input");
        }

        return list;
    }
}

/// <summary>The name the worker's model is served under.</summary>
public sealed record WorkerIdentity(string Name);
