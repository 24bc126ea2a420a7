namespace Enclave.Backends;

/// <summary>
/// A claim on a loaded (or loading) local model: while any lease is held the model is never unloaded, neither for
/// idleness nor for memory. Take one per attempt of a request and dispose it when the attempt ends; the model's
/// keep-alive starts when its last lease is disposed. Dispose is idempotent and thread-safe.
/// </summary>
public sealed class ModelLease : IDisposable
{
    private readonly ModelResidency _owner;
    private readonly ModelResidency.Entry _entry;
    private int _released;

    internal ModelLease(ModelResidency owner, ModelResidency.Entry entry, string model)
    {
        _owner = owner;
        _entry = entry;
        Model = model;
    }

    public string Model { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _owner.Release(_entry);
        }
    }
}
