namespace Enclave.Security.Limits;

/// <summary>Which per-key limit turned a request away.</summary>
public enum LimitKind
{
    /// <summary>Requests per minute (sliding 60-second window).</summary>
    Requests,

    /// <summary>Tokens per minute (sliding 60-second window of reserved, then settled, tokens).</summary>
    Tokens,

    /// <summary>Requests in flight at once.</summary>
    Concurrency,

    /// <summary>Token budget of the current UTC day or month.</summary>
    Budget,
}
