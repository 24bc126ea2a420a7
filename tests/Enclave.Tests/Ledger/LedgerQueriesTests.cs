using Enclave.Ledger;

namespace Enclave.Tests.Ledger;

public sealed class LedgerQueriesTests
{
    private static readonly DateTimeOffset Day1 = new(2025, 6, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Day2 = new(2025, 6, 2, 23, 30, 0, TimeSpan.Zero);

    private static async Task<LedgerTestDirectory> FilledAsync()
    {
        var dir = new LedgerTestDirectory();
        await using var writer = new LedgerWriter(dir.Database);
        UsageRecord[] records =
        [
            LedgerTestDirectory.Record("a", Day1, key: "k1", model: "chat", prompt: 10, completion: 5, latency: 100, ttft: 10),
            LedgerTestDirectory.Record("b", Day1, key: "k1", model: "embed", prompt: 7, completion: 0, latency: 50, ttft: null, backend: "remote"),
            LedgerTestDirectory.Record("c", Day2, key: "k2", model: "chat", prompt: 20, completion: 30, latency: 300, ttft: 30, status: 503),
            LedgerTestDirectory.Record("d", Day2.AddHours(-1), key: "k1", model: "chat", prompt: 1, completion: 2, latency: 200, ttft: 50, status: 400),
        ];
        await Task.WhenAll(records.Select(r => writer.WriteAsync(r, CancellationToken.None).AsTask()));
        return dir;
    }

    [Fact]
    public async Task UsageAsync_ByKey_SumsEachKey()
    {
        using var dir = await FilledAsync();

        var rows = await LedgerQueries.UsageAsync(dir.Database, null, UsageGrouping.Key, CancellationToken.None);

        Assert.Equal(2, rows.Count);
        Assert.Equal(new UsageRow("k1", 3, 18, 7, 1, (100 + 50 + 200) / 3.0, 50), rows[0]);
        Assert.Equal(new UsageRow("k2", 1, 20, 30, 1, 300, 30), rows[1]);
    }

    [Fact]
    public async Task UsageAsync_ByModelBackendDay_GroupsCorrectly()
    {
        using var dir = await FilledAsync();

        var byModel = await LedgerQueries.UsageAsync(dir.Database, null, UsageGrouping.Model, CancellationToken.None);
        var byBackend = await LedgerQueries.UsageAsync(dir.Database, null, UsageGrouping.Backend, CancellationToken.None);
        var byDay = await LedgerQueries.UsageAsync(dir.Database, null, UsageGrouping.Day, CancellationToken.None);

        Assert.Equal([("chat", 3L, 31L, 37L, 2L), ("embed", 1L, 7L, 0L, 0L)], byModel.Select(r => (r.Group, r.Requests, r.PromptTokens, r.CompletionTokens, r.Errors)));
        Assert.Null(byModel[1].P95TimeToFirstTokenMs);
        Assert.Equal([("local", 3L), ("remote", 1L)], byBackend.Select(r => (r.Group, r.Requests)));
        Assert.Equal([("2025-06-01", 2L, 17L), ("2025-06-02", 2L, 21L)], byDay.Select(r => (r.Group, r.Requests, r.PromptTokens)));
    }

    [Fact]
    public async Task UsageAsync_Since_ExcludesEarlierRecords()
    {
        using var dir = await FilledAsync();

        var rows = await LedgerQueries.UsageAsync(dir.Database, new DateTimeOffset(2025, 6, 2, 0, 0, 0, TimeSpan.Zero), UsageGrouping.Key, CancellationToken.None);

        Assert.Equal([("k1", 1L), ("k2", 1L)], rows.Select(r => (r.Group, r.Requests)));
    }

    [Fact]
    public async Task UsageAsync_P95_IsNearestRank()
    {
        using var dir = new LedgerTestDirectory();
        await using (var writer = new LedgerWriter(dir.Database))
        {
            await Task.WhenAll(Enumerable.Range(1, 40).Select(i => writer.WriteAsync(LedgerTestDirectory.Record($"p{i}", ttft: i), CancellationToken.None).AsTask()));
        }

        var row = Assert.Single(await LedgerQueries.UsageAsync(dir.Database, null, UsageGrouping.Model, CancellationToken.None));

        Assert.Equal(38, row.P95TimeToFirstTokenMs); // ceil(0.95 * 40) = 38th smallest
    }

    [Fact]
    public async Task UsageAsync_EmptyDataDir_ReturnsNoRows()
    {
        using var dir = new LedgerTestDirectory();

        Assert.Empty(await LedgerQueries.UsageAsync(dir.Database, null, UsageGrouping.Day, CancellationToken.None));
    }

    [Theory]
    [InlineData("24h", "2025-06-09T12:00:00Z")]
    [InlineData("1d12h", "2025-06-09T00:00:00Z")]
    [InlineData("2025-06-01", "2025-06-01T00:00:00Z")]
    [InlineData("2025-06-01T08:00:00+02:00", "2025-06-01T06:00:00Z")]
    public void TryParseSince_ValidText_GivesStart(string text, string expected)
    {
        var now = new DateTimeOffset(2025, 6, 10, 12, 0, 0, TimeSpan.Zero);

        Assert.True(LedgerQueries.TryParseSince(text, now, out var since));
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), since);
    }

    [Theory]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("-1d")]
    [InlineData("2025-13-01")]
    [InlineData("12")]
    public void TryParseSince_BadText_ReturnsFalse(string text) =>
        Assert.False(LedgerQueries.TryParseSince(text, DateTimeOffset.UnixEpoch, out _));

    [Theory]
    [InlineData("key", UsageGrouping.Key, true)]
    [InlineData("DAY", UsageGrouping.Day, true)]
    [InlineData("1", UsageGrouping.Key, false)]
    [InlineData("route", UsageGrouping.Key, false)]
    public void TryParseGrouping_Text_ParsesOnlyKnownNames(string text, UsageGrouping expected, bool ok)
    {
        Assert.Equal(ok, LedgerQueries.TryParseGrouping(text, out var grouping));
        Assert.Equal(expected, grouping);
    }
}
