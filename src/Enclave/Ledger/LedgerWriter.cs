using System.Threading.Channels;
using Enclave.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Enclave.Ledger;

/// <summary>
/// Appends <see cref="UsageRecord"/>s to the <c>usage_ledger</c> table with group commit. Callers enqueue into a
/// bounded channel (full: <see cref="WriteAsync"/> waits); one background loop drains everything waiting and commits
/// it in a single transaction with one reused prepared INSERT, then completes each caller. So
/// <see cref="WriteAsync"/> returns only once its record is durable (WAL, <c>synchronous=FULL</c>), while concurrent
/// requests share one fsync. If a batch fails to commit, its records are retried one transaction each so that one bad
/// record (a duplicate request id) faults only its own writer; a database that cannot be written faults them all.
/// Thread-safe: all members may be called concurrently. Records are never mutated.
/// </summary>
public sealed partial class LedgerWriter : IAsyncDisposable
{
    /// <summary>Most records in one transaction; bounds the time a single commit holds the write lock.</summary>
    private const int MaxBatch = 2048;

    private readonly EnclaveDatabase _database;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue;
    private readonly Lazy<Task> _migrated;
    private readonly Task _loop;
    private SqliteConnection? _connection;
    private SqliteCommand? _insert;
    private long _recordsWritten;
    private long _transactionsCommitted;
    private long _recordsFailed;
    private int _disposed;

    /// <param name="database">The store to write to.</param>
    /// <param name="logger">Where commit failures are logged (record ids only).</param>
    /// <param name="capacity">Records that may wait for the loop before <see cref="WriteAsync"/> waits too.</param>
    public LedgerWriter(EnclaveDatabase database, ILogger<LedgerWriter>? logger = null, int capacity = 8192)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _database = database;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        _migrated = new Lazy<Task>(() => _database.MigrateAsync(LedgerSchema.Migrations, CancellationToken.None));
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Records committed so far.</summary>
    public long RecordsWritten => Interlocked.Read(ref _recordsWritten);

    /// <summary>Transactions committed so far (each holds one or more records).</summary>
    public long TransactionsCommitted => Interlocked.Read(ref _transactionsCommitted);

    /// <summary>Records whose commit failed (their writers saw the exception).</summary>
    public long RecordsFailed => Interlocked.Read(ref _recordsFailed);

    /// <summary>Creates the table if needed. Optional: the first write does it too.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken) => _migrated.Value.WaitAsync(cancellationToken);

    /// <summary>
    /// Queues <paramref name="record"/> and completes when it is committed. Faults with the database's exception when
    /// the commit fails, and with <see cref="ObjectDisposedException"/> after disposal. Cancelling stops the wait
    /// (for queue space or for the commit); a record already queued is still committed.
    /// </summary>
    public async ValueTask WriteAsync(UsageRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentException.ThrowIfNullOrEmpty(record.RequestId);
        var pending = new Pending(record, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(LedgerWriter));
        }

        await pending.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops accepting records, commits everything already queued, and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async Task LoopAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                }

                await CommitBatchAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }
        }
        finally
        {
            await CloseAsync().ConfigureAwait(false);
        }
    }

    private async Task CommitBatchAsync(List<Pending> batch)
    {
        try
        {
            await CommitAsync(batch).ConfigureAwait(false);
            foreach (var pending in batch)
            {
                pending.Done.TrySetResult();
            }

            return;
        }
        catch (Exception ex) when (batch.Count > 1)
        {
            // One bad record must not cost the others their usage: retry them one transaction each.
            LogBatchFailed(_logger, batch.Count, ex);
        }
        catch (Exception ex)
        {
            Fail(batch[0], ex);
            return;
        }

        foreach (var pending in batch)
        {
            try
            {
                await CommitAsync([pending]).ConfigureAwait(false);
                pending.Done.TrySetResult();
            }
            catch (Exception ex)
            {
                Fail(pending, ex);
            }
        }
    }

    private void Fail(Pending pending, Exception error)
    {
        Interlocked.Increment(ref _recordsFailed);
        LogRecordFailed(_logger, pending.Record.RequestId, error);
        pending.Done.TrySetException(error);
    }

    private async Task CommitAsync(IReadOnlyList<Pending> batch)
    {
        await _migrated.Value.ConfigureAwait(false);
        var insert = await PrepareAsync().ConfigureAwait(false);
        try
        {
            await using var transaction = (SqliteTransaction)await _connection!.BeginTransactionAsync().ConfigureAwait(false);
            insert.Transaction = transaction;
            foreach (var pending in batch)
            {
                Bind(insert, pending.Record);
                await insert.ExecuteNonQueryAsync().ConfigureAwait(false);
            }

            await transaction.CommitAsync().ConfigureAwait(false);
        }
        catch
        {
            // The connection may be unusable (disk full, file replaced): open a fresh one next time.
            await CloseAsync().ConfigureAwait(false);
            throw;
        }

        Interlocked.Add(ref _recordsWritten, batch.Count);
        Interlocked.Increment(ref _transactionsCommitted);
    }

    private async Task<SqliteCommand> PrepareAsync()
    {
        if (_insert is not null)
        {
            return _insert;
        }

        _connection = await _database.OpenAsync(CancellationToken.None).ConfigureAwait(false);
        var insert = _connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO usage_ledger (request_id, at, key_id, model, backend, route, stream, prompt_tokens,
                completion_tokens, ttft_ms, latency_ms, status, error_code, finish_reason, guardrail_triggers)
            VALUES ($request_id, $at, $key_id, $model, $backend, $route, $stream, $prompt_tokens,
                $completion_tokens, $ttft_ms, $latency_ms, $status, $error_code, $finish_reason, $guardrail_triggers)
            """;
        foreach (var name in ParameterNames)
        {
            insert.Parameters.Add(new SqliteParameter(name, null));
        }

        _insert = insert;
        return insert;
    }

    private static readonly string[] ParameterNames =
    [
        "$request_id", "$at", "$key_id", "$model", "$backend", "$route", "$stream", "$prompt_tokens",
        "$completion_tokens", "$ttft_ms", "$latency_ms", "$status", "$error_code", "$finish_reason", "$guardrail_triggers",
    ];

    private static void Bind(SqliteCommand insert, UsageRecord r)
    {
        var p = insert.Parameters;
        p[0].Value = r.RequestId;
        p[1].Value = LedgerSchema.FormatTime(r.Time);
        p[2].Value = string.IsNullOrEmpty(r.KeyId) ? "anonymous" : r.KeyId;
        p[3].Value = r.Model;
        p[4].Value = r.Backend;
        p[5].Value = r.Route;
        p[6].Value = r.Stream ? 1 : 0;
        p[7].Value = r.PromptTokens;
        p[8].Value = r.CompletionTokens;
        p[9].Value = r.TimeToFirstTokenMs is { } ttft ? ttft : DBNull.Value;
        p[10].Value = r.LatencyMs;
        p[11].Value = r.Status;
        p[12].Value = (object?)r.ErrorCode ?? DBNull.Value;
        p[13].Value = (object?)r.FinishReason ?? DBNull.Value;
        p[14].Value = r.GuardrailTriggers ?? "";
    }

    private async Task CloseAsync()
    {
        if (_insert is not null)
        {
            await _insert.DisposeAsync().ConfigureAwait(false);
            _insert = null;
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Usage ledger batch of {Count} records failed to commit; retrying one by one")]
    private static partial void LogBatchFailed(ILogger logger, int count, Exception error);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Error, Message = "Usage ledger could not commit the record of request {RequestId}")]
    private static partial void LogRecordFailed(ILogger logger, string requestId, Exception error);

    private sealed record Pending(UsageRecord Record, TaskCompletionSource Done);
}
