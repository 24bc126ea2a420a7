using System.Text.Json;
using Enclave.Storage;

namespace Enclave.Security.Audit;

/// <summary>What a verification found; <see cref="None"/> when the log is intact.</summary>
public enum AuditFailureKind
{
    None,

    /// <summary>A record's hash does not match its contents: edited, or forged without the key.</summary>
    Edited,

    /// <summary>A seq is missing from the middle of the chain: a record was deleted.</summary>
    Deleted,

    /// <summary>A record does not chain to its predecessor, or seqs repeat or run backwards: inserted or reordered.</summary>
    InsertedOrReordered,

    /// <summary>The chain ends before the head checkpoint: the last records were deleted.</summary>
    Truncated,

    /// <summary>The head checkpoint is missing while records exist, or its MAC is wrong.</summary>
    CheckpointInvalid,

    /// <summary>Records exist but the audit key (file or <c>ENCLAVE_AUDIT_KEY</c>) is not available.</summary>
    KeyMissing,
}

/// <summary>
/// Outcome of <see cref="AuditVerifier.VerifyAsync"/>: <see cref="RecordCount"/> records checked; on failure the first
/// bad seq (null when the failure is not about one record) and a reason a person can act on. Immutable.
/// </summary>
public sealed record AuditVerificationResult(bool Ok, long RecordCount, long? FirstBadSeq, AuditFailureKind Failure, string? Reason)
{
    internal static AuditVerificationResult Fail(long count, long? seq, AuditFailureKind failure, string reason) => new(false, count, seq, failure, reason);
}

/// <summary>
/// Checks the audit chain end to end: seqs run 1, 2, 3… without gaps, each record's prev_hash is its predecessor's
/// hash, each hash is the HMAC of its contents, and the chain reaches the MAC'd head checkpoint. Reads only; creates
/// nothing. Thread-safe (stateless); may run while the gateway appends.
/// </summary>
public static class AuditVerifier
{
    /// <summary>Verifies the log in <paramref name="database"/> with the key from <see cref="AuditKey"/>.</summary>
    public static async Task<AuditVerificationResult> VerifyAsync(EnclaveDatabase database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        var key = AuditKey.TryLoad(database.DataDirectory);
        var checkpointPath = AuditKey.CheckpointPath(database.DataDirectory);
        // The checkpoint is read before the rows: appends commit before advancing it, so every record it names is visible.
        var checkpoint = key is null ? null : AuditCheckpoint.TryRead(checkpointPath, key);
        long count = 0;
        long expectedSeq = 1;
        var prevHash = AuditChain.GenesisHash;
        var checkpointMatched = false;
        await foreach (var record in SqliteAuditLog.ReadAllAsync(database, cancellationToken).ConfigureAwait(false))
        {
            if (key is null)
            {
                return AuditVerificationResult.Fail(0, null, AuditFailureKind.KeyMissing, $"the audit key is missing: neither {AuditKey.EnvironmentVariable} nor {AuditKey.KeyPath(database.DataDirectory)} exists, so the chain cannot be checked");
            }

            if (record.Seq < expectedSeq)
            {
                return AuditVerificationResult.Fail(count, record.Seq, AuditFailureKind.InsertedOrReordered, $"record {record.Seq} appears after record {expectedSeq - 1}: duplicate or out-of-order seq (inserted or reordered)");
            }

            if (record.Seq > expectedSeq)
            {
                var missing = record.Seq - 1 == expectedSeq ? $"record {expectedSeq} is" : $"records {expectedSeq}-{record.Seq - 1} are";
                return AuditVerificationResult.Fail(count, expectedSeq, AuditFailureKind.Deleted, $"{missing} missing: seq gap before record {record.Seq} (deleted)");
            }

            if (!string.Equals(record.PrevHash, prevHash, StringComparison.Ordinal))
            {
                return AuditVerificationResult.Fail(count, record.Seq, AuditFailureKind.InsertedOrReordered, $"record {record.Seq} does not chain to record {record.Seq - 1} (prev_hash differs): inserted or reordered");
            }

            if (!string.Equals(SafeHash(key, record), record.Hash, StringComparison.Ordinal))
            {
                return AuditVerificationResult.Fail(count, record.Seq, AuditFailureKind.Edited, $"record {record.Seq} hash mismatch: its contents were edited or it was forged");
            }

            if (checkpoint is { Valid: true } && checkpoint.Seq == record.Seq)
            {
                if (!string.Equals(checkpoint.Hash, record.Hash, StringComparison.Ordinal))
                {
                    return AuditVerificationResult.Fail(count, record.Seq, AuditFailureKind.Edited, $"record {record.Seq} does not match the head checkpoint: the chain was rewritten from here");
                }

                checkpointMatched = true;
            }

            prevHash = record.Hash;
            expectedSeq++;
            count++;
        }

        if (count == 0 && checkpoint is null)
        {
            return new AuditVerificationResult(true, 0, null, AuditFailureKind.None, null);
        }

        if (checkpoint is null)
        {
            return AuditVerificationResult.Fail(count, null, AuditFailureKind.CheckpointInvalid, $"the head checkpoint {checkpointPath} is missing although {count} records exist (deleted, or the data directory was copied without it)");
        }

        if (!checkpoint.Valid)
        {
            return AuditVerificationResult.Fail(count, null, AuditFailureKind.CheckpointInvalid, $"the head checkpoint {checkpointPath} is damaged or its MAC does not match the audit key");
        }

        if (checkpoint.Seq > count)
        {
            return AuditVerificationResult.Fail(count, count + 1, AuditFailureKind.Truncated, $"the chain ends at record {count} but the head checkpoint names record {checkpoint.Seq}: records {count + 1}-{checkpoint.Seq} were deleted (truncated)");
        }

        return checkpointMatched || checkpoint.Seq == 0
            ? new AuditVerificationResult(true, count, null, AuditFailureKind.None, null)
            : AuditVerificationResult.Fail(count, checkpoint.Seq, AuditFailureKind.CheckpointInvalid, $"the head checkpoint names record {checkpoint.Seq}, which the chain does not contain");
    }

    private static string? SafeHash(byte[] key, AuditRecord record)
    {
        try
        {
            return AuditChain.ComputeHash(key, record);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or NotSupportedException)
        {
            // Unparseable details or a malformed prev_hash can only come from editing the row.
            return null;
        }
    }
}
