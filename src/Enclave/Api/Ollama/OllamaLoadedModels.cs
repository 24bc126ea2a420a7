using Enclave.Backends;

namespace Enclave.Api.Ollama;

/// <summary>A model <c>/api/ps</c> reports as loaded, and when it would be unloaded.</summary>
internal sealed record LoadedModel(WorkerSupervisor Worker, DateTimeOffset ExpiresAt);

/// <summary>
/// Which models count as loaded for <c>/api/ps</c>. Today every configured local model stays loaded while the gateway
/// runs, so a model is loaded when its worker is ready, and it never expires (Ollama's "forever": now plus Go's
/// longest duration). When models load on demand and unload after <c>keep_alive</c>, this is the one place to change.
/// </summary>
internal static class OllamaLoadedModels
{
    public static IReadOnlyList<LoadedModel> List(LocalModels models, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(time);
        var expires = time.GetUtcNow() + OllamaWire.Forever;
        return [.. models.All.Where(w => w.Snapshot().State == WorkerState.Ready).Select(w => new LoadedModel(w, expires))];
    }
}
