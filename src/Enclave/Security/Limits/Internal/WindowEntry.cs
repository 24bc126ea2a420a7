namespace Enclave.Security.Limits.Internal;

/// <summary>
/// One admitted request (or the excess of a late settlement) in a key's 60-second window, stamped with a
/// monotonic timestamp. Mutated only under the owning <see cref="KeyLimitState"/>'s lock.
/// </summary>
internal sealed class WindowEntry(long at, long tokens, bool isRequest)
{
    public long At { get; } = at;

    public long Tokens { get; set; } = tokens;

    /// <summary>False for an entry that only carries tokens settled after the request's own entry left the window.</summary>
    public bool IsRequest { get; } = isRequest;

    /// <summary>Set when the entry leaves the window, after which settling it no longer changes the window's sum.</summary>
    public bool Expired { get; set; }
}
