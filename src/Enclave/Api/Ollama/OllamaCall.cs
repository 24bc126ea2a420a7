namespace Enclave.Api.Ollama;

/// <summary>Which Ollama endpoint a request came to, which decides the shape of its answer.</summary>
internal enum OllamaKind
{
    /// <summary><c>/api/chat</c>: <c>message</c> objects.</summary>
    Chat,

    /// <summary><c>/api/generate</c>: <c>response</c> text.</summary>
    Generate,

    /// <summary><c>/api/embed</c>: <c>embeddings</c>, an array of vectors.</summary>
    Embed,

    /// <summary><c>/api/embeddings</c> (Ollama's older endpoint): one <c>embedding</c>.</summary>
    Embeddings,
}

/// <summary>
/// An Ollama request translated for the OpenAI pipeline: the route to forward to and the body to send, or, for
/// Ollama's empty "load the model" and "unload the model" requests, nothing to forward. Immutable.
/// </summary>
/// <param name="Kind">The endpoint the request came to.</param>
/// <param name="RequestedModel">The model name as the client sent it (echoed in answers).</param>
/// <param name="Model">The configured model it resolved to.</param>
/// <param name="Stream">Whether the client wants NDJSON (Ollama's default for chat and generate).</param>
/// <param name="UpstreamPath">The OpenAI route, e.g. <c>v1/chat/completions</c>; null when nothing is forwarded.</param>
/// <param name="Body">The OpenAI request body; null when nothing is forwarded.</param>
/// <param name="LoadReason"><c>load</c> or <c>unload</c> for a request with nothing to run; null otherwise.</param>
/// <param name="KeepAlive">The request's <c>keep_alive</c> (negative: forever, zero: unload when idle), or null for the configured one.</param>
internal sealed record OllamaCall(OllamaKind Kind, string RequestedModel, string Model, bool Stream, string? UpstreamPath, byte[]? Body, string? LoadReason, TimeSpan? KeepAlive = null);
