using Enclave.Ledger;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Enclave.Tests.Ledger;

public sealed class LedgerWriterTests
{
    [Fact]
    public async Task WriteAsync_Returns_RecordReadableFromAnotherConnection()
    {
        using var dir = new LedgerTestDirectory();
        await using var writer = new LedgerWriter(dir.Database);

        await writer.WriteAsync(LedgerTestDirectory.Record("req-1"), CancellationToken.None);

        Assert.Equal(1, dir.CountRows("request_id = 'req-1' AND key_id = 'k1' AND model = 'chat' AND stream = 1 AND ttft_ms = 20"));
        Assert.Equal(1, writer.RecordsWritten);
        Assert.Equal(1, writer.TransactionsCommitted);
    }

    [Fact]
    public async Task WriteAsync_200Concurrent_AllStoredInFarFewerTransactions()
    {
        using var dir = new LedgerTestDirectory();
        await using var writer = new LedgerWriter(dir.Database);
        await writer.InitializeAsync(CancellationToken.None);

        await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            Task.Run(async () => await writer.WriteAsync(LedgerTestDirectory.Record($"req-{i}"), CancellationToken.None))));

        Assert.Equal(200, dir.CountRows());
        Assert.Equal(200, writer.RecordsWritten);
        Assert.True(writer.TransactionsCommitted <= 50, $"{writer.TransactionsCommitted} transactions for 200 records");
    }

    [Fact]
    public async Task WriteAsync_DuplicateRequestId_FaultsThatWriterOnly()
    {
        using var dir = new LedgerTestDirectory();
        await using var writer = new LedgerWriter(dir.Database);
        await writer.WriteAsync(LedgerTestDirectory.Record("dup"), CancellationToken.None);

        var writes = Enumerable.Range(0, 20).Select(i => writer.WriteAsync(LedgerTestDirectory.Record(i == 7 ? "dup" : $"ok-{i}"), CancellationToken.None).AsTask()).ToArray();
        var duplicate = await Assert.ThrowsAsync<SqliteException>(() => writes[7]).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(19, (await Task.WhenAll(writes.Where((_, i) => i != 7).Select(async t => { await t; return 1; }))).Sum());
        Assert.Equal(SQLitePCL.raw.SQLITE_CONSTRAINT, duplicate.SqliteErrorCode);
        Assert.Equal(20, dir.CountRows());
        Assert.Equal(1, writer.RecordsFailed);
    }

    [Fact]
    public async Task WriteAsync_DatabaseUnwritable_FaultsWritersInsteadOfHanging()
    {
        using var dir = new LedgerTestDirectory();
        await using var writer = new LedgerWriter(dir.Database);
        await writer.InitializeAsync(CancellationToken.None);
        // A trigger that aborts every insert stands in for an unwritable file (root ignores file modes).
        using (var connection = new SqliteConnection($"Data Source={dir.Database.DatabasePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TRIGGER deny BEFORE INSERT ON usage_ledger BEGIN SELECT RAISE(ABORT, 'read-only ledger'); END";
            command.ExecuteNonQuery();
        }

        var writes = Enumerable.Range(0, 10).Select(i => writer.WriteAsync(LedgerTestDirectory.Record($"r-{i}"), CancellationToken.None).AsTask()).ToArray();

        foreach (var write in writes)
        {
            await Assert.ThrowsAsync<SqliteException>(() => write.WaitAsync(TimeSpan.FromSeconds(30)));
        }

        Assert.Equal(10, writer.RecordsFailed);
        Assert.Equal(0, writer.RecordsWritten);
    }

    [Fact]
    public async Task DisposeAsync_WithQueuedRecords_CommitsThemThenRejectsNewWrites()
    {
        using var dir = new LedgerTestDirectory();
        var writer = new LedgerWriter(dir.Database);
        var writes = Enumerable.Range(0, 50).Select(i => writer.WriteAsync(LedgerTestDirectory.Record($"q-{i}"), CancellationToken.None).AsTask()).ToArray();

        await writer.DisposeAsync();

        await Task.WhenAll(writes);
        Assert.Equal(50, dir.CountRows());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await writer.WriteAsync(LedgerTestDirectory.Record("late"), CancellationToken.None));
    }

    [Fact]
    public async Task AddUsageLedger_WithoutDatabase_ThrowsHowToFix()
    {
        var services = new ServiceCollection().AddUsageLedger().AddUsageLedger();
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<LedgerWriter>());
        Assert.Contains("AddEnclaveSecurity", error.Message, StringComparison.Ordinal);
    }
}
