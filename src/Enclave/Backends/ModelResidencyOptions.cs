namespace Enclave.Backends;

/// <summary>
/// The <c>Residency</c> section: which local models stay loaded. Models load on first use (or at start-up when
/// <c>Models:NAME:Preload</c> is true, the default), unload after <see cref="KeepAlive"/> idle, and unload least
/// recently used first when loading another would exceed <see cref="MemoryBudgetBytes"/>.
/// </summary>
public sealed class ModelResidencyOptions
{
    /// <summary>Share of the memory available to the gateway that the automatic budget allows.</summary>
    public const double AutomaticBudgetShare = 0.8;

    /// <summary>
    /// Idle time before a model that loads on demand is unloaded, unless the model sets its own
    /// <c>Models:NAME:KeepAlive</c>: a duration (<c>5m</c>, <c>30s</c>, <c>1h</c>), <c>0</c> or <c>-1</c> (never).
    /// Preloaded models default to never.
    /// </summary>
    public string KeepAlive { get; set; } = "5m";

    /// <summary>
    /// Memory the loaded models may use together, in bytes: <c>0</c> (default) is 80% of the memory available to the
    /// gateway (physical memory, or the container's limit), <c>-1</c> is unlimited.
    /// </summary>
    public long MemoryBudgetBytes { get; set; }

    /// <summary>The budget in bytes, or null when unlimited (also when the available memory is unknown).</summary>
    internal long? EffectiveBudget(long availableMemoryBytes) => MemoryBudgetBytes switch
    {
        < 0 => null,
        0 when availableMemoryBytes <= 0 => null,
        0 => (long)(availableMemoryBytes * AutomaticBudgetShare),
        _ => MemoryBudgetBytes,
    };
}
