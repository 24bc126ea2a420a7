using System.Text.Json;
using Enclave.Ledger;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Ledger;

public sealed class UsageCliTests
{
    [Fact]
    public async Task Usage_JsonByModelSince_PrintsFilteredTotals()
    {
        using var dir = new LedgerTestDirectory();
        var now = TimeProvider.System.GetUtcNow();
        await using (var writer = new LedgerWriter(dir.Database))
        {
            await writer.WriteAsync(LedgerTestDirectory.Record("old", now.AddDays(-3), model: "chat", prompt: 1000), CancellationToken.None);
            await writer.WriteAsync(LedgerTestDirectory.Record("new1", now.AddMinutes(-5), model: "chat", prompt: 10, completion: 4), CancellationToken.None);
            await writer.WriteAsync(LedgerTestDirectory.Record("new2", now.AddMinutes(-1), model: "embed", prompt: 3, completion: 0, status: 500), CancellationToken.None);
        }

        var (code, output, error) = await EnclaveCommand.RunAsync(["usage", "--json", "--by", "model", "--since", "1d", "--data-dir", dir.Path]);

        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("model", json.RootElement.GetProperty("by").GetString());
        var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("group").GetString()!);
        Assert.Equal(2, rows.Count);
        Assert.Equal(10, rows["chat"].GetProperty("prompt_tokens").GetInt64());
        Assert.Equal(4, rows["chat"].GetProperty("completion_tokens").GetInt64());
        Assert.Equal(1, rows["embed"].GetProperty("errors").GetInt64());
        Assert.Equal(1, rows["embed"].GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task Usage_Table_ShowsGroups()
    {
        using var dir = new LedgerTestDirectory();
        await using (var writer = new LedgerWriter(dir.Database))
        {
            await writer.WriteAsync(LedgerTestDirectory.Record("t1", key: "key-alpha"), CancellationToken.None);
        }

        var (code, output, error) = await EnclaveCommand.RunAsync(["usage", "--data-dir", dir.Path]);

        Assert.True(code == 0, error);
        Assert.Contains("key-alpha", output, StringComparison.Ordinal);
        Assert.Contains("requests", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--since", "yesterday")]
    [InlineData("--by", "route")]
    public async Task Usage_BadOption_ExitsNonZeroWithMessage(string option, string value)
    {
        using var dir = new LedgerTestDirectory();

        var (code, _, error) = await EnclaveCommand.RunAsync(["usage", option, value, "--data-dir", dir.Path]);

        Assert.NotEqual(0, code);
        Assert.Contains(value, error, StringComparison.Ordinal);
    }
}
