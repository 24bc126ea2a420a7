using System.Diagnostics.CodeAnalysis;

namespace Enclave.Security.Limits;

/// <summary>
/// The outcome of <see cref="KeyLimiter.TryAdmitAsync"/>: admitted with a <see cref="LimitLease"/> the caller must
/// dispose, or rejected with a <see cref="LimitRejection"/>. Immutable.
/// </summary>
public sealed class LimitDecision
{
    private LimitDecision(LimitLease? lease, LimitRejection? rejection, LimitSnapshot snapshot)
    {
        Lease = lease;
        Rejection = rejection;
        Snapshot = snapshot;
    }

    [MemberNotNullWhen(true, nameof(Lease))]
    [MemberNotNullWhen(false, nameof(Rejection))]
    public bool IsAdmitted => Lease is not null && Rejection is null;

    /// <summary>Set when admitted; dispose it (<c>await using</c>) when the request ends.</summary>
    public LimitLease? Lease { get; }

    /// <summary>Set when rejected.</summary>
    public LimitRejection? Rejection { get; }

    /// <summary>The header numbers; for a rejection it carries <see cref="LimitSnapshot.RetryAfter"/>.</summary>
    public LimitSnapshot Snapshot { get; }

    internal static LimitDecision Admitted(LimitLease lease) => new(lease, null, lease.Snapshot);

    internal static LimitDecision Rejected(LimitRejection rejection, LimitSnapshot snapshot) =>
        new(null, rejection, snapshot with { RetryAfter = rejection.RetryAfter });
}
