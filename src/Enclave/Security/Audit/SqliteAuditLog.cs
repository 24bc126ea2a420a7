using System.Runtime.CompilerServices;
using Enclave.Storage;
using Microsoft.Data.Sqlite;

namespace Enclave.Security.Audit;

/// <summary>
/// <see cref="IAuditLog"/> over the embedded SQLite database (table <c>audit_log</c>, migration <c>audit-001</c>).
/// Each append reads the chain head and inserts the next record inside one <c>BEGIN IMMEDIATE</c> transaction, so
/// appends from several processes (gateway and CLI) chain correctly; after the commit the head checkpoint
/// (<see cref="AuditKey.CheckpointPath"/>) is advanced so truncation is detectable. The HMAC key comes from
/// <see cref="AuditKey"/>, outside the database. Appends are durable when the call returns (<c>synchronous=FULL</c>).
/// Thread-safe; <see cref="AuditEvent"/> arguments are not mutated.
/// </summary>
public sealed class SqliteAuditLog : IAuditLog
{
    private readonly EnclaveDatabase _database;
    private readonly TimeProvider _timeProvider;
    private readonly string _checkpointPath;
    private readonly Lock _initGate = new();
    private Task<byte[]>? _initialization;

    public SqliteAuditLog(EnclaveDatabase database, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _database = database;
        _timeProvider = timeProvider;
        _checkpointPath = AuditKey.CheckpointPath(database.DataDirectory);
    }

    /// <summary>The schema this log applies.</summary>
    public static IReadOnlyList<Migration> Migrations => AuditChain.Migrations;

    /// <summary>Applies the schema and loads (or creates) the audit key; safe to call more than once.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken) => KeyAsync(cancellationToken);

    public async Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        ArgumentException.ThrowIfNullOrEmpty(auditEvent.Action);
        ArgumentException.ThrowIfNullOrEmpty(auditEvent.Actor);
        ArgumentException.ThrowIfNullOrEmpty(auditEvent.Outcome);
        var key = await KeyAsync(cancellationToken).ConfigureAwait(false);
        AuditRecord record;
        await using (var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            long lastSeq = 0;
            var prevHash = AuditChain.GenesisHash;
            await using (var head = connection.CreateCommand())
            {
                head.Transaction = transaction;
                head.CommandText = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";
                await using var reader = await head.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    lastSeq = reader.GetInt64(0);
                    prevHash = reader.GetString(1);
                }
            }

            var unsigned = new AuditRecord(
                lastSeq + 1,
                _timeProvider.GetUtcNow().ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                AuditChain.Scrub(auditEvent.Action)!,
                AuditChain.Scrub(auditEvent.Actor)!,
                AuditChain.Scrub(auditEvent.Outcome)!,
                AuditChain.Scrub(auditEvent.Target),
                AuditChain.Scrub(auditEvent.RequestId),
                AuditChain.Scrub(auditEvent.RemoteAddress),
                AuditChain.DetailsToJson(auditEvent.Details),
                prevHash,
                Hash: "");
            record = unsigned with { Hash = AuditChain.ComputeHash(key, unsigned) };
            await using (var insert = connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = $"INSERT INTO audit_log ({AuditChain.Columns}) VALUES ($seq, $at, $action, $actor, $outcome, $target, $request, $remote, $details, $prev, $hash)";
                insert.Parameters.AddWithValue("$seq", record.Seq);
                insert.Parameters.AddWithValue("$at", record.At);
                insert.Parameters.AddWithValue("$action", record.Action);
                insert.Parameters.AddWithValue("$actor", record.Actor);
                insert.Parameters.AddWithValue("$outcome", record.Outcome);
                insert.Parameters.AddWithValue("$target", (object?)record.Target ?? DBNull.Value);
                insert.Parameters.AddWithValue("$request", (object?)record.RequestId ?? DBNull.Value);
                insert.Parameters.AddWithValue("$remote", (object?)record.RemoteAddress ?? DBNull.Value);
                insert.Parameters.AddWithValue("$details", (object?)record.DetailsJson ?? DBNull.Value);
                insert.Parameters.AddWithValue("$prev", record.PrevHash);
                insert.Parameters.AddWithValue("$hash", record.Hash);
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            // Past this point the append is committed; do not let a late cancellation skip the checkpoint.
            await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        AuditCheckpoint.Advance(_checkpointPath, key, record.Seq, record.Hash);
    }

    /// <summary>Every stored record in seq order, as stored (no verification). Creates nothing.</summary>
    public static async IAsyncEnumerable<AuditRecord> ReadAllAsync(EnclaveDatabase database, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (!await TableExistsAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            yield break;
        }

        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {AuditChain.Columns} FROM audit_log ORDER BY seq";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return AuditChain.Read(reader);
        }
    }

    private static async Task<bool> TableExistsAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'";
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    private Task<byte[]> KeyAsync(CancellationToken cancellationToken)
    {
        Task<byte[]> task;
        lock (_initGate)
        {
            if (_initialization is null || _initialization.IsFaulted || _initialization.IsCanceled)
            {
                // Shared by all callers, so one caller's cancellation must not fail the others' start.
                _initialization = Task.Run(async () =>
                {
                    await _database.MigrateAsync(AuditChain.Migrations, CancellationToken.None).ConfigureAwait(false);
                    return AuditKey.LoadOrCreate(_database.DataDirectory);
                }, CancellationToken.None);
            }

            task = _initialization;
        }

        return task.IsCompletedSuccessfully ? task : task.WaitAsync(cancellationToken);
    }
}
