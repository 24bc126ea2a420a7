using Enclave.Security.Audit;
using Microsoft.Extensions.Time.Testing;

namespace Enclave.Tests.Security;

public sealed class AuditLogTests : IDisposable
{
    private readonly SecurityTestDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly SqliteAuditLog _log;

    public AuditLogTests() => _log = new SqliteAuditLog(_dir.Database, _time);

    public void Dispose() => _dir.Dispose();

    private async Task AppendFiveAsync()
    {
        for (var i = 1; i <= 5; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await _log.AppendAsync(new AuditEvent($"keys.create", "cli", "success", $"key{i}", RequestId: $"req{i}", RemoteAddress: "127.0.0.1",
                Details: new Dictionary<string, string> { ["z"] = "last", ["a"] = $"first {i}" }), default);
        }
    }

    private Task<AuditVerificationResult> VerifyAsync() => AuditVerifier.VerifyAsync(_dir.Database, default);

    [Fact]
    public async Task Verify_EmptyDataDirectory_OkWithZeroRecords()
    {
        var result = await VerifyAsync();

        Assert.True(result.Ok);
        Assert.Equal(0, result.RecordCount);
        Assert.False(File.Exists(AuditKey.KeyPath(_dir.Path)));
    }

    [Fact]
    public async Task Verify_CleanChain_Ok()
    {
        await AppendFiveAsync();

        var result = await VerifyAsync();

        Assert.True(result.Ok, result.Reason);
        Assert.Equal(5, result.RecordCount);
        Assert.Null(result.FirstBadSeq);
        Assert.Equal(AuditFailureKind.None, result.Failure);
    }

    [Fact]
    public async Task Append_StoresFieldsChainedFromGenesis()
    {
        await AppendFiveAsync();

        var records = await SqliteAuditLog.ReadAllAsync(_dir.Database, default).ToListAsync();

        Assert.Equal([1L, 2, 3, 4, 5], records.Select(r => r.Seq));
        Assert.Equal(new string('0', 64), records[0].PrevHash);
        Assert.All(records.Skip(1), (r, i) => Assert.Equal(records[i].Hash, r.PrevHash));
        Assert.Equal("""{"a":"first 1","z":"last"}""", records[0].DetailsJson);
        Assert.Equal("2025-03-01T12:00:01.0000000+00:00", records[0].At);
        Assert.Equal(("keys.create", "cli", "success", "key1", "req1", "127.0.0.1"), (records[0].Action, records[0].Actor, records[0].Outcome, records[0].Target, records[0].RequestId, records[0].RemoteAddress));
    }

    [Theory]
    [InlineData("actor", "'mallory'")]
    [InlineData("outcome", "'failure'")]
    [InlineData("at", "'2024-01-01T00:00:00.0000000+00:00'")]
    [InlineData("target", "NULL")]
    [InlineData("details_json", "'{\"a\":\"first 3\",\"z\":\"changed\"}'")]
    [InlineData("details_json", "'not json'")]
    [InlineData("hash", "'" + "ab" + "'")]
    public async Task Verify_FieldEditedWithSql_FailsAtThatRecord(string column, string value)
    {
        await AppendFiveAsync();
        _dir.Execute($"UPDATE audit_log SET {column} = {value} WHERE seq = 3");

        var result = await VerifyAsync();

        Assert.False(result.Ok);
        Assert.Equal(3, result.FirstBadSeq);
        Assert.Equal(AuditFailureKind.Edited, result.Failure);
        Assert.Contains("record 3", result.Reason);
    }

    [Fact]
    public async Task Verify_MiddleRecordDeleted_ReportsMissingSeq()
    {
        await AppendFiveAsync();
        _dir.Execute("DELETE FROM audit_log WHERE seq = 3");

        var result = await VerifyAsync();

        Assert.False(result.Ok);
        Assert.Equal(3, result.FirstBadSeq);
        Assert.Equal(AuditFailureKind.Deleted, result.Failure);
        Assert.Equal(2, result.RecordCount);
    }

    [Fact]
    public async Task Verify_LastRecordsDeleted_ReportsTruncation()
    {
        await AppendFiveAsync();
        _dir.Execute("DELETE FROM audit_log WHERE seq >= 4");

        var result = await VerifyAsync();

        Assert.False(result.Ok);
        Assert.Equal(4, result.FirstBadSeq);
        Assert.Equal(AuditFailureKind.Truncated, result.Failure);
    }

    [Fact]
    public async Task Verify_AllRecordsDeleted_ReportsTruncation()
    {
        await AppendFiveAsync();
        _dir.Execute("DELETE FROM audit_log");

        var result = await VerifyAsync();

        Assert.Equal((false, 1L, AuditFailureKind.Truncated), (result.Ok, result.FirstBadSeq, result.Failure));
    }

    [Fact]
    public async Task Verify_ForgedRecordAppended_FailsAtForgery()
    {
        await AppendFiveAsync();
        var last = (await SqliteAuditLog.ReadAllAsync(_dir.Database, default).ToListAsync())[^1];
        _dir.Execute(
            "INSERT INTO audit_log (seq, at, action, actor, outcome, prev_hash, hash) VALUES (6, $at, 'keys.revoke', 'cli', 'success', $prev, $hash)",
            ("$at", last.At), ("$prev", last.Hash), ("$hash", new string('f', 64)));

        var result = await VerifyAsync();

        Assert.Equal((false, 6L, AuditFailureKind.Edited), (result.Ok, result.FirstBadSeq, result.Failure));
    }

    [Fact]
    public async Task Verify_ForgedRecordInsertedInTheMiddle_FailsAtForgery()
    {
        await AppendFiveAsync();
        var records = await SqliteAuditLog.ReadAllAsync(_dir.Database, default).ToListAsync();
        // Make room at seq 3 (two steps, since seq is the primary key) and insert a forgery that links to record 2.
        _dir.Execute("UPDATE audit_log SET seq = -seq WHERE seq >= 3");
        _dir.Execute("UPDATE audit_log SET seq = 1 - seq WHERE seq < 0");
        _dir.Execute(
            "INSERT INTO audit_log (seq, at, action, actor, outcome, prev_hash, hash) VALUES (3, $at, 'keys.create', 'cli', 'success', $prev, $hash)",
            ("$at", records[2].At), ("$prev", records[1].Hash), ("$hash", records[2].Hash));

        var result = await VerifyAsync();

        Assert.Equal((false, 3L), (result.Ok, result.FirstBadSeq));
    }

    [Fact]
    public async Task Verify_TwoRecordsSwapped_ReportsReorderingAtTheFirst()
    {
        await AppendFiveAsync();
        // Swap every column but seq between records 2 and 4.
        const string Columns = "at, action, actor, outcome, target, request_id, remote_address, details_json, prev_hash, hash";
        _dir.Execute($"CREATE TABLE swap AS SELECT seq, {Columns} FROM audit_log WHERE seq IN (2, 4)");
        _dir.Execute($"UPDATE audit_log SET ({Columns}) = (SELECT {Columns} FROM swap WHERE swap.seq = 6 - audit_log.seq) WHERE seq IN (2, 4)");

        var result = await VerifyAsync();

        Assert.Equal((false, 2L, AuditFailureKind.InsertedOrReordered), (result.Ok, result.FirstBadSeq, result.Failure));
    }

    [Fact]
    public async Task Verify_CheckpointDeleted_Fails()
    {
        await AppendFiveAsync();
        File.Delete(AuditKey.CheckpointPath(_dir.Path));

        var result = await VerifyAsync();

        Assert.Equal((false, AuditFailureKind.CheckpointInvalid), (result.Ok, result.Failure));
    }

    [Fact]
    public async Task Verify_CheckpointRewrittenWithoutKey_Fails()
    {
        await AppendFiveAsync();
        var path = AuditKey.CheckpointPath(_dir.Path);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"seq\":5", "\"seq\":3", StringComparison.Ordinal));

        var result = await VerifyAsync();

        Assert.Equal((false, AuditFailureKind.CheckpointInvalid), (result.Ok, result.Failure));
    }

    [Fact]
    public async Task Verify_AuditKeyReplaced_FailsAtFirstRecord()
    {
        await AppendFiveAsync();
        File.WriteAllText(AuditKey.KeyPath(_dir.Path), Convert.ToBase64String(new byte[32]));

        var result = await VerifyAsync();

        Assert.Equal((false, 1L, AuditFailureKind.Edited), (result.Ok, result.FirstBadSeq, result.Failure));
    }

    [Fact]
    public async Task Append_ConcurrentFromTwoInstances_ChainsCorrectly()
    {
        var other = new SqliteAuditLog(new Enclave.Storage.EnclaveDatabase(_dir.Path), _time);
        await _log.InitializeAsync(default);
        await other.InitializeAsync(default);

        var writers = new[] { _log, other }.Select((log, w) => Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await log.AppendAsync(new AuditEvent("test.append", $"writer{w}", "success", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), default);
            }
        }));
        await Task.WhenAll(writers);

        var result = await VerifyAsync();
        Assert.True(result.Ok, result.Reason);
        Assert.Equal(40, result.RecordCount);
        var records = await SqliteAuditLog.ReadAllAsync(_dir.Database, default).ToListAsync();
        Assert.Equal(20, records.Count(r => r.Actor == "writer0"));
    }

    [Fact]
    public async Task Append_SecretShapedValue_IsStoredRedacted()
    {
        var secret = "enc_abcdefghij12_" + new string('Q', 42) + "A";
        await _log.AppendAsync(new AuditEvent("keys.create", "cli", "success", secret, Details: new Dictionary<string, string> { ["note"] = "key " + secret }), default);

        var raw = System.Text.Encoding.UTF8.GetString(_dir.RawDatabaseBytes());

        Assert.DoesNotContain(secret, raw, StringComparison.Ordinal);
        Assert.True((await VerifyAsync()).Ok);
        Assert.Equal("enc_abcdefghij12_[redacted]", (await SqliteAuditLog.ReadAllAsync(_dir.Database, default).ToListAsync())[0].Target);
    }

    [Fact]
    public async Task AuditKey_CreatedOnFirstAppend_OwnerOnlyAndOutsideDatabase()
    {
        await _log.AppendAsync(new AuditEvent("keys.create", "cli", "success"), default);

        var key = AuditKey.KeyPath(_dir.Path);
        Assert.True(File.Exists(key));
        Assert.True(File.Exists(AuditKey.CheckpointPath(_dir.Path)));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(AuditKey.CheckpointPath(_dir.Path)));
        }
    }
}
