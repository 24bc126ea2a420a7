using System.Diagnostics;
using System.Text.Json;
using Enclave.Security.Keys;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Security;

public sealed class KeysCliTests : IDisposable
{
    private readonly SecurityTestDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        return await EnclaveCommand.RunAsync(
            [.. args, "--data-dir", _dir.Path],
            new Dictionary<string, string?> { ["ENCLAVE_AUDIT_KEY"] = null, ["ENCLAVE_KEY_HASH_KEY"] = null });
    }

    private async Task<(string Id, string Key)> CreateAsync(params string[] extra)
    {
        var (code, output, error) = await RunAsync(["keys", "create", "--name", "ci bot", "--json", .. extra]);
        Assert.True(code == 0, error);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal(["id", "key"], json.EnumerateObject().Select(p => p.Name));
        return (json.GetProperty("id").GetString()!, json.GetProperty("key").GetString()!);
    }

    private SqliteApiKeyStore Store() => new(_dir.Database, TimeProvider.System);

    [Fact]
    public async Task KeysCreate_Json_PrintsIdAndKeyThatAuthenticates()
    {
        var (id, key) = await CreateAsync("--models", "chat*,embed", "--scopes", "inference,models", "--rpm", "60", "--token-budget", "1000", "--budget-period", "day", "--expires", "7d");

        Assert.StartsWith($"enc_{id}_", key, StringComparison.Ordinal);
        var record = await Store().AuthenticateAsync(key, default);
        Assert.NotNull(record);
        Assert.Equal(["chat*", "embed"], record.Models);
        Assert.Equal([Scopes.Inference, Scopes.Models], record.Scopes);
        Assert.Equal(60, record.RequestsPerMinute);
        Assert.Equal((1000L, BudgetPeriod.Day), (record.TokenBudget, record.BudgetPeriod));
        Assert.InRange(record.ExpiresAt!.Value - record.CreatedAt, TimeSpan.FromDays(7) - TimeSpan.FromSeconds(1), TimeSpan.FromDays(7));
    }

    [Fact]
    public async Task KeysCreate_Table_PrintsKeyOnItsOwnLine()
    {
        var (code, output, _) = await RunAsync("keys", "create", "--name", "table");

        Assert.Equal(0, code);
        var key = output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("enc_", StringComparison.Ordinal));
        Assert.NotNull(await Store().AuthenticateAsync(key, default));
    }

    [Fact]
    public async Task KeysList_ShowsKeyWithoutSecret()
    {
        var (id, key) = await CreateAsync();
        var secret = key[^43..];

        var (code, table, _) = await RunAsync("keys", "list");
        var (jsonCode, json, _) = await RunAsync("keys", "list", "--json");

        Assert.Equal((0, 0), (code, jsonCode));
        Assert.Contains(id, table);
        Assert.Contains("active", table);
        Assert.DoesNotContain(secret, table);
        Assert.DoesNotContain(secret, json);
        var listed = JsonDocument.Parse(json).RootElement.EnumerateArray().Single();
        Assert.Equal(id, listed.GetProperty("id").GetString());
        Assert.Equal("ci bot", listed.GetProperty("name").GetString());
        Assert.Equal("active", listed.GetProperty("status").GetString());
    }

    [Fact]
    public async Task KeysRevoke_KnownKey_StopsItAndUnknownFails()
    {
        var (id, key) = await CreateAsync();

        var (code, _, _) = await RunAsync("keys", "revoke", id);
        var (again, _, error) = await RunAsync("keys", "revoke", id);

        Assert.Equal(0, code);
        Assert.Null(await Store().AuthenticateAsync(key, default));
        Assert.Equal(1, again);
        Assert.Contains(id, error);
        var (_, json, _) = await RunAsync("keys", "list", "--json");
        Assert.Equal("revoked", JsonDocument.Parse(json).RootElement[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task KeysRotate_ZeroGrace_NewKeyWorksOldStops()
    {
        var (id, key) = await CreateAsync("--scopes", "admin");

        var (code, output, error) = await RunAsync("keys", "rotate", id, "--grace", "0s", "--json");

        Assert.True(code == 0, error);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal(id, json.GetProperty("rotated_from").GetString());
        var rotated = await Store().AuthenticateAsync(json.GetProperty("key").GetString()!, default);
        Assert.Equal(json.GetProperty("id").GetString(), rotated?.Id);
        Assert.Equal([Scopes.Admin], rotated!.Scopes);
        Assert.Null(await Store().AuthenticateAsync(key, default));
    }

    [Fact]
    public async Task KeysRotate_WithGrace_OldKeyStillWorks()
    {
        var (id, key) = await CreateAsync();

        var (code, _, _) = await RunAsync("keys", "rotate", id, "--grace", "1h");

        Assert.Equal(0, code);
        var old = await Store().AuthenticateAsync(key, default);
        Assert.NotNull(old?.ExpiresAt);
    }

    [Theory]
    [InlineData("--scopes", "root", "root")]
    [InlineData("--expires", "soon", "--expires")]
    [InlineData("--token-budget", "100", "--budget-period")]
    [InlineData("--rpm", "0", "--rpm")]
    public async Task KeysCreate_InvalidSetting_ExitsOneWithMessage(string option, string value, string mentions)
    {
        var (code, output, error) = await RunAsync("keys", "create", "--name", "x", option, value);

        Assert.Equal(1, code);
        Assert.Contains(mentions, error);
        Assert.DoesNotContain("enc_", output);
        Assert.False(await Store().AnyAsync(default));
    }

    [Fact]
    public async Task AuditVerify_AfterKeyChanges_IntactThenTamperedNamesSeq()
    {
        var (id, _) = await CreateAsync();
        await RunAsync("keys", "rotate", id, "--grace", "1h");
        await RunAsync("keys", "revoke", id);

        var (code, output, _) = await RunAsync("audit", "verify");
        Assert.Equal(0, code);
        Assert.Contains("3 records", output);

        _dir.Execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2");
        var (badCode, _, error) = await RunAsync("audit", "verify");

        Assert.Equal(1, badCode);
        Assert.Contains("seq 2", error);
        Assert.Contains("edited", error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task KeysCreate_ParallelProcessesOnFreshDirectory_AllSucceedAndChainStaysIntact()
    {
        var runs = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => RunAsync("keys", "create", "--name", $"parallel {i}", "--json")));

        Assert.All(runs, r => Assert.True(r.Code == 0, r.Err));
        Assert.Equal(3, (await Store().ListAsync(default)).Count);
        var (code, output, error) = await RunAsync("audit", "verify");
        Assert.True(code == 0, error);
        Assert.Contains("3 records", output);
    }

    [Fact]
    public async Task AuditExport_WritesOneJsonObjectPerRecord()
    {
        var (id, key) = await CreateAsync();
        await RunAsync("keys", "revoke", id);
        var file = Path.Combine(_dir.Path, "audit.jsonl");

        var (code, stdout, _) = await RunAsync("audit", "export");
        var (fileCode, _, _) = await RunAsync("audit", "export", "--output", file);

        Assert.Equal((0, 0), (code, fileCode));
        Assert.Equal(stdout, File.ReadAllText(file));
        Assert.DoesNotContain(key[^43..], stdout);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal([1L, 2L], lines.Select(l => l.GetProperty("seq").GetInt64()));
        Assert.Equal(["keys.create", "keys.revoke"], lines.Select(l => l.GetProperty("action").GetString()));
        Assert.All(lines, l => Assert.Equal("cli", l.GetProperty("actor").GetString()));
        Assert.All(lines, l => Assert.Equal(id, l.GetProperty("target").GetString()));
        Assert.Equal("ci bot", lines[0].GetProperty("details").GetProperty("name").GetString());
        foreach (var field in new[] { "at", "outcome", "request_id", "remote_address", "hash" })
        {
            Assert.True(lines[0].TryGetProperty(field, out _), field);
        }
    }

    [Theory]
    [InlineData("keys")]
    [InlineData("keys", "create")]
    [InlineData("keys", "rotate")]
    [InlineData("audit", "verify")]
    [InlineData("audit", "export")]
    public async Task Help_KeyAndAuditCommands_DescribeThemselves(params string[] command)
    {
        var (code, output, _) = await RunAsync([.. command, "--help"]);

        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
    }
}
