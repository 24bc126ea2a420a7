using System.Text.Json;

namespace Enclave.Api;

/// <summary>
/// A body that passed <see cref="RequestGuard"/>: its validated model name and its parsed document. The raw
/// bytes stay readable from <see cref="HttpRequest.Body"/> for forwarding. Dispose to return the document's memory.
/// </summary>
public sealed class GuardedRequest(string model, JsonDocument document) : IDisposable
{
    public string Model { get; } = model;

    public JsonDocument Document { get; } = document;

    public void Dispose() => Document.Dispose();
}
