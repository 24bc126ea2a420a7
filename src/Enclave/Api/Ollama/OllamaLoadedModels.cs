using Enclave.Backends;

namespace Enclave.Api.Ollama;

/// <summary>A model <c>/api/ps</c> reports as loaded, and when it would be unloaded.</summary>
internal sealed record LoadedModel(WorkerSupervisor Worker, DateTimeOffset ExpiresAt);

/// <summary>
/// Which local models are loaded for <c>/api/ps</c>, with when each unloads if no request comes (its keep-alive
/// from the last request; Ollama's "forever", now plus Go's longest duration, when it never expires or is serving).
/// </summary>
internal static class OllamaLoadedModels
{
    public static IReadOnlyList<LoadedModel> List(LocalModels models, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(time);
        var forever = time.GetUtcNow() + OllamaWire.Forever;
        return [.. models.Residency()
            .Where(r => r.IsLoaded && models.Find(r.Model) is not null)
            .Select(r => new LoadedModel(models.Find(r.Model)!, r.ExpiresAt ?? forever))];
    }
}
