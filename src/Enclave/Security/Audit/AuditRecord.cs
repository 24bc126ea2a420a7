namespace Enclave.Security.Audit;

/// <summary>
/// One stored audit row as it is in the database (<see cref="At"/> in ISO 8601 UTC, <see cref="DetailsJson"/> a JSON
/// object or null, hashes in lowercase hex). Immutable.
/// </summary>
public sealed record AuditRecord(
    long Seq,
    string At,
    string Action,
    string Actor,
    string Outcome,
    string? Target,
    string? RequestId,
    string? RemoteAddress,
    string? DetailsJson,
    string PrevHash,
    string Hash);
