using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
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
    private static readonly ConditionalWeakTable<InferenceEngine, StrongBox<int>> LongestPiece = [];

    public static IEndpointRouteBuilder MapWorkerEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", (HttpContext c, InferenceEngine e, WorkerIdentity id, IOptions<ApiLimits> l, TimeProvider t) =>
            HandleAsync(c, l.Value, async body =>
            {
                var (_, messages) = InferenceRequestReader.ReadChatMessages(body, l.Value);
                RequireGenerative(e, id);
                var fields = InferenceRequestReader.ReadGenerationFields(body, l.Value);
                // Refuse text that cannot fit before templating or tokenizing it (the template only adds bytes).
                InferenceRequestReader.CheckTextFits(InferenceRequestReader.Utf8Length(messages), e.ContextPerSequence, BytesPerToken(e, l.Value), "messages");
                var tokens = e.TokenizeChat(messages);
                await RunCompletionAsync(c, e, id, fields, tokens, chat: true, t, "messages");
            }));
        app.MapPost("/v1/completions", (HttpContext c, InferenceEngine e, WorkerIdentity id, IOptions<ApiLimits> l, TimeProvider t) =>
            HandleAsync(c, l.Value, async body =>
            {
                body.RequiredString("model");
                var prompt = InferenceRequestReader.ReadPrompt(body);
                RequireGenerative(e, id);
                var fields = InferenceRequestReader.ReadGenerationFields(body, l.Value);
                InferenceRequestReader.CheckTextFits(Encoding.UTF8.GetByteCount(prompt), e.ContextPerSequence, BytesPerToken(e, l.Value), "prompt");
                var tokens = e.Tokenize(prompt);
                await RunCompletionAsync(c, e, id, fields, tokens, chat: false, t, "prompt");
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
            // The gateway has checked the body already; the worker checks again so it never trusts its caller.
            using var doc = await JsonRequest.ParseBodyAsync(context.Request, limits.MaxJsonDepth, rejectForwardingFields: true, context.RequestAborted);
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

    /// <summary>
    /// Longest UTF-8 text one token of this model can stand for: the longest vocabulary piece, or the configured
    /// floor when larger (it also covers special tokens, which the piece scan does not render). Computed once.
    /// </summary>
    private static int BytesPerToken(InferenceEngine engine, ApiLimits limits)
    {
        var longest = LongestPiece.GetValue(engine, e =>
        {
            var bytes = new List<byte>(64);
            var max = 1;
            for (var token = 0; token < e.Model.VocabSize; token++)
            {
                bytes.Clear();
                e.Model.AppendPiece(token, bytes);
                max = Math.Max(max, bytes.Count);
            }

            return new StrongBox<int>(max);
        });
        return Math.Max(longest.Value, limits.MaxBytesPerToken);
    }

    private static async Task RunCompletionAsync(HttpContext context, InferenceEngine engine, WorkerIdentity id, GenerationFields fields,
        int[] tokens, bool chat, TimeProvider time, string promptParam)
    {
        if (tokens.Length >= engine.ContextPerSequence)
        {
            throw new ApiErrorException(ApiError.ContextLengthExceeded(tokens.Length, engine.ContextPerSequence, promptParam));
        }

        if (fields.MaxTokens is { } asked && asked > engine.MaxTokensLimit)
        {
            throw JsonRequest.Bad($"Invalid value for 'max_tokens': at most {engine.MaxTokensLimit} tokens may be generated per request on this model.", "max_tokens", "integer_above_max_value");
        }

        var generation = InferenceRequestReader.ToGeneration(fields, tokens, engine.ContextPerSequence);
        var (stream, includeUsage) = (fields.Stream, fields.IncludeUsage);
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
        var bytesPerToken = BytesPerToken(engine, limits);
        foreach (var input in inputs)
        {
            InferenceRequestReader.CheckTextFits(Encoding.UTF8.GetByteCount(input), engine.EmbeddingContextSize, bytesPerToken, "input");
        }

        var format = body.Has("encoding_format") ? body.RequiredString("encoding_format") : "float";
        if (format is not ("float" or "base64"))
        {
            throw JsonRequest.Bad($"Invalid value for 'encoding_format': '{RequestGuard.Printable(format)}'. Supported values are: 'float' and 'base64'.", "encoding_format", "invalid_value");
        }

        var dimensions = body.WholeNumber("dimensions", 1, 1_000_000);
        if (dimensions is not null && dimensions != engine.Model.EmbeddingLength)
        {
            throw JsonRequest.Bad($"Invalid value for 'dimensions': this model produces {engine.Model.EmbeddingLength} dimensions.", "dimensions", "invalid_value");
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
        if (body.Root.TryGetProperty("input", out var raw) && raw.ValueKind == JsonValueKind.Array && raw.GetArrayLength() > limits.MaxEmbeddingInputs)
        {
            throw JsonRequest.Bad($"Invalid value for 'input': at most {limits.MaxEmbeddingInputs} inputs are allowed.", "input", "array_above_max_length");
        }

        var list = body.Strings("input") ?? throw JsonRequest.Bad("Missing required parameter: 'input'.", "input", "missing_required_parameter");
        if (list.Count == 0)
        {
            throw JsonRequest.Bad($"Invalid value for 'input': give 1 to {limits.MaxEmbeddingInputs} inputs.", "input", "invalid_value");
        }

        if (list.Any(s => s.Length == 0))
        {
            throw JsonRequest.Bad("Invalid value for 'input': inputs must not be empty strings.", "input", "invalid_value");
        }

        return list;
    }
}

/// <summary>The name the worker's model is served under.</summary>
public sealed record WorkerIdentity(string Name);
