namespace Enclave.Backends;

/// <summary>
/// The answer to a request for a local model: a <see cref="Lease"/>, or why none was given (an expected outcome,
/// not an error): <see cref="Refusal"/> is a message safe to show a client and <see cref="RetryAfter"/> when to try.
/// </summary>
public readonly record struct ModelAdmission(ModelLease? Lease, string? Refusal, TimeSpan RetryAfter)
{
    public bool IsAdmitted => Lease is not null;

    internal static ModelAdmission Admitted(ModelLease lease) => new(lease, null, TimeSpan.Zero);

    internal static ModelAdmission Refused(string message, TimeSpan retryAfter) => new(null, message, retryAfter);
}
