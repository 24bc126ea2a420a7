using System.Buffers;
using System.Text.Json;
using Enclave.Backends;
using Enclave.Security.Auth;
using Microsoft.Extensions.Options;

namespace Enclave.Api.Ollama;

/// <summary>
/// The Ollama-compatible surface (<c>/api/*</c>), so tools that speak Ollama work against the gateway unchanged.
/// Inference requests are translated into OpenAI requests and run through the same forwarding pipeline as
/// <c>/v1/*</c> (authentication, per-key limits, the usage ledger, metrics, routing to local workers and remote
/// backends); the model endpoints list the router's public models and describe local ones from their GGUF files. Each route requires the scope of its OpenAI twin: chat and generate need
/// <c>inference</c>, embed needs <c>embeddings</c>, and tags, ps and show need <c>models</c>. Errors are Ollama's
/// <c>{"error":"..."}</c> with the gateway's status codes, except authentication failures, which are answered
/// before any route runs and keep the gateway's error envelope.
/// </summary>
public static partial class OllamaEndpoints
{
    /// <summary>The text Ollama answers on <c>/</c>; clients probe it to see whether a server is there.</summary>
    public const string RunningText = "Ollama is running";

    public static IEndpointRouteBuilder MapOllamaApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var catalog = new OllamaModelCatalog();
        app.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], () => Results.Text(RunningText))
            .RequireAuthorization(AuthPolicies.AnyKey);
        app.MapGet("/api/version", () => Results.Json(new { version = OllamaWire.ApiVersion }))
            .RequireAuthorization(AuthPolicies.AnyKey);
        app.MapPost("/api/chat", (HttpContext c, ForwardServices s) => InferAsync(c, s, OllamaKind.Chat))
            .RequireAuthorization(AuthPolicies.Inference);
        app.MapPost("/api/generate", (HttpContext c, ForwardServices s) => InferAsync(c, s, OllamaKind.Generate))
            .RequireAuthorization(AuthPolicies.Inference);
        app.MapPost("/api/embed", (HttpContext c, ForwardServices s) => InferAsync(c, s, OllamaKind.Embed))
            .RequireAuthorization(AuthPolicies.Embeddings);
        app.MapPost("/api/embeddings", (HttpContext c, ForwardServices s) => InferAsync(c, s, OllamaKind.Embeddings))
            .RequireAuthorization(AuthPolicies.Embeddings);
        app.MapGet("/api/tags", (HttpContext c, ModelRouter r, IOptions<ModelsOptions> o) => TagsAsync(c, r, o.Value, catalog))
            .RequireAuthorization(AuthPolicies.Models);
        app.MapGet("/api/ps", (HttpContext c, LocalModels m, IOptions<ModelsOptions> o, TimeProvider t) => RunningAsync(c, m, o.Value, t, catalog))
            .RequireAuthorization(AuthPolicies.Models);
        app.MapPost("/api/show", (HttpContext c, LocalModels m, ModelRouter r, IOptions<ModelsOptions> o, IOptions<ApiLimits> l) => ShowAsync(c, m, r, o.Value, l.Value, catalog))
            .RequireAuthorization(AuthPolicies.Models);
        return app;
    }

    /// <summary>The route label Ollama requests carry in the ledger, metrics and traces.</summary>
    internal static string RouteOf(OllamaKind kind) => kind switch
    {
        OllamaKind.Chat => "/api/chat",
        OllamaKind.Generate => "/api/generate",
        OllamaKind.Embed => "/api/embed",
        _ => "/api/embeddings",
    };

    /// <summary>Writes a JSON object with <paramref name="write"/> as a 200 answer.</summary>
    private static async Task WriteJsonAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            write(w);
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = OllamaWire.JsonContentType;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }
}
