using System.Globalization;

namespace Enclave.Capacity.Bench;

/// <summary>How a load level drives the server.</summary>
public enum LoadKind
{
    /// <summary>Closed loop: a fixed number of requests in flight; a new one starts when one finishes.</summary>
    Concurrency,

    /// <summary>Open loop: Poisson arrivals at a fixed mean rate, whether or not earlier requests finished.</summary>
    Rate,

    /// <summary>Open loop: the ledger's recorded arrival times, sped up by <see cref="LoadLevel.Value"/>.</summary>
    Replay,
}

/// <summary>One load level of a sweep. Immutable.</summary>
public sealed record LoadLevel(LoadKind Kind, double Value)
{
    public string Label => Kind switch
    {
        LoadKind.Concurrency => "c=" + Value.ToString(CultureInfo.InvariantCulture),
        LoadKind.Rate => Value.ToString("0.###", CultureInfo.InvariantCulture) + "/s",
        _ => "replay x" + Value.ToString("0.###", CultureInfo.InvariantCulture),
    };

    public string KindName => Kind.ToString().ToLowerInvariant();
}
