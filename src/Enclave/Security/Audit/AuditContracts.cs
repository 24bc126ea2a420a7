namespace Enclave.Security.Audit;

/// <summary>
/// One audited event. <see cref="Actor"/> is a key id, <c>anonymous</c>, or <c>cli</c>; never a secret.
/// <see cref="Details"/> must not carry secrets or prompt text. Immutable.
/// </summary>
public sealed record AuditEvent(
    string Action,
    string Actor,
    string Outcome,
    string? Target = null,
    string? RequestId = null,
    string? RemoteAddress = null,
    IReadOnlyDictionary<string, string>? Details = null);

/// <summary>
/// Append-only, HMAC-chained audit log: record i carries <c>seq</c> and
/// <c>h_i = HMAC(k, seq_i ‖ h_{i-1} ‖ canonical(record_i))</c>, with k kept outside the database.
/// Appends are durable when the call returns. Thread-safe.
/// </summary>
public interface IAuditLog
{
    Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken);
}
