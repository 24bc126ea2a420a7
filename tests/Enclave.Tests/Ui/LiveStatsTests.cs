using System.Diagnostics.Metrics;
using Enclave.Ui;
using Microsoft.Extensions.Time.Testing;

namespace Enclave.Tests.Ui;

/// <summary>
/// <see cref="LiveStats"/> against a meter of its own, driven by hand: per-second buckets, the sliding latency
/// window, roll-over after 15 minutes, status classes, token types and sampled gauges.
/// </summary>
public sealed class LiveStatsTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly Meter _meter = new("Enclave.Tests.LiveStats." + Guid.NewGuid().ToString("N"));
    private readonly LiveStats _stats;
    private readonly Counter<long> _requests;
    private readonly Histogram<long> _tokens;
    private readonly Histogram<double> _ttft;
    private readonly Histogram<double> _duration;

    public LiveStatsTests()
    {
        _stats = new LiveStats(_time, _meter.Name);
        _requests = _meter.CreateCounter<long>("enclave.requests");
        _tokens = _meter.CreateHistogram<long>("gen_ai.client.token.usage");
        _ttft = _meter.CreateHistogram<double>("gen_ai.server.time_to_first_token");
        _duration = _meter.CreateHistogram<double>("gen_ai.server.request.duration");
    }

    public void Dispose()
    {
        _stats.Dispose();
        _meter.Dispose();
    }

    private void Request(int status, int count = 1) =>
        _requests.Add(count, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("gen_ai.request.model", "chat"));

    [Fact]
    public void Snapshot_HundredDurationsInOneSecond_ReportsNearestRankPercentilesWithinTwoPercent()
    {
        foreach (var ms in Enumerable.Range(1, 100).Reverse())
        {
            _duration.Record(ms / 1000.0);
        }

        _time.Advance(TimeSpan.FromSeconds(1));
        var snapshot = _stats.Snapshot(60);

        AssertNear(0.050, snapshot.Recent.Duration.P50);
        AssertNear(0.095, snapshot.Recent.Duration.P95);
        AssertNear(0.099, snapshot.Recent.Duration.P99);
        AssertNear(0.095, snapshot.Series.DurationP95[^1]);
        Assert.Null(snapshot.Recent.TimeToFirstToken.P95);
    }

    [Fact]
    public void Snapshot_LatencyPoints_CoverTheTrailingWindowOnly()
    {
        _ttft.Record(1.0);
        _time.Advance(TimeSpan.FromSeconds(5));
        _ttft.Record(0.010);
        _time.Advance(TimeSpan.FromSeconds(20));

        var series = _stats.Snapshot(25).Series;
        var at = (int offset) => (int)(Start.ToUnixTimeSeconds() + offset - series.Time[0]);

        // Seconds 0-4 hold only the slow request, 5-9 both, 10-14 only the fast one, 15 on nothing.
        AssertNear(1.0, series.TtftP50[at(4)]);
        AssertNear(0.010, series.TtftP50[at(5)]);
        AssertNear(1.0, series.TtftP99[at(9)]);
        AssertNear(0.010, series.TtftP99[at(10)]);
        AssertNear(0.010, series.TtftP99[at(14)]);
        Assert.Null(series.TtftP99[at(15)]);
    }

    [Fact]
    public void Snapshot_RequestsInDifferentSeconds_LandInTheirOwnBuckets()
    {
        Request(200, 3);
        _time.Advance(TimeSpan.FromSeconds(2));
        Request(200);
        _time.Advance(TimeSpan.FromSeconds(1));

        var snapshot = _stats.Snapshot(5);

        Assert.Equal(Enumerable.Range(0, 5).Select(i => Start.ToUnixTimeSeconds() - 2 + i), snapshot.Series.Time);
        Assert.Equal([0, 0, 3, 0, 1], snapshot.Series.Requests);
        Assert.Equal(Start.ToUnixTimeSeconds() + 2, snapshot.Now);
        Assert.Equal(4, snapshot.Totals.Requests);
    }

    [Fact]
    public void Snapshot_SecondInProgress_IsInTotalsButNotInSeries()
    {
        Request(200, 2);

        var snapshot = _stats.Snapshot(10);

        Assert.Equal(2, snapshot.Totals.Requests);
        Assert.All(snapshot.Series.Requests, n => Assert.Equal(0, n));
    }

    [Fact]
    public void Snapshot_AfterFifteenMinutes_OldSecondsRollOutAndTheirSlotsAreReused()
    {
        Request(200, 3);
        _duration.Record(2.0);
        _time.Advance(TimeSpan.FromSeconds(LiveStats.RetainedSeconds));
        var full = _stats.Snapshot(LiveStats.RetainedSeconds).Series;
        Assert.Equal(3, full.Requests[0]); // the oldest of the 900 complete seconds
        Assert.Equal(3, full.Requests.Sum());

        // Exactly 900 s later: the same ring slot as the first request, which must not leak into the new second.
        Request(200);
        _duration.Record(0.5);
        _time.Advance(TimeSpan.FromSeconds(1));
        var snapshot = _stats.Snapshot(LiveStats.RetainedSeconds);

        Assert.Equal(1, snapshot.Series.Requests.Sum());
        Assert.Equal(1, snapshot.Series.Requests[^1]);
        AssertNear(0.5, snapshot.Series.DurationP99[^1]);
        Assert.Equal(4, snapshot.Totals.Requests);
    }

    [Fact]
    public void Totals_ByStatus_SplitServerAndClientErrors()
    {
        foreach (var status in new[] { 200, 200, 400, 404, 429, 500, 503 })
        {
            Request(status);
        }

        _time.Advance(TimeSpan.FromSeconds(1));
        var snapshot = _stats.Snapshot(60);

        Assert.Equal(new LiveTotals(7, 5, 2, 3, 0, 0, 0, 0), snapshot.Totals);
        Assert.Equal(3, snapshot.Series.ClientErrors[^1]);
        Assert.Equal(2, snapshot.Series.ServerErrors[^1]);
        Assert.Equal(5.0 / 7, snapshot.Recent.ErrorRate, 3);
        Assert.Equal(7, snapshot.Recent.RequestsPerSecond);
    }

    [Fact]
    public void Totals_TokenUsage_AddsByTokenType()
    {
        _tokens.Record(40, new KeyValuePair<string, object?>("gen_ai.token.type", "input"));
        _tokens.Record(12, new KeyValuePair<string, object?>("gen_ai.token.type", "output"));
        _tokens.Record(8, new KeyValuePair<string, object?>("gen_ai.token.type", "input"));
        _tokens.Record(99, new KeyValuePair<string, object?>("gen_ai.token.type", "cached"));
        _time.Advance(TimeSpan.FromSeconds(1));

        var snapshot = _stats.Snapshot(60);

        Assert.Equal(48, snapshot.Totals.InputTokens);
        Assert.Equal(12, snapshot.Totals.OutputTokens);
        Assert.Equal(48, snapshot.Series.InputTokens[^1]);
        Assert.Equal(12, snapshot.Series.OutputTokens[^1]);
    }

    [Fact]
    public void Totals_Rejections_AreCountedApartFromRequests()
    {
        var auth = _meter.CreateCounter<long>("enclave.auth.rejections");
        var limits = _meter.CreateCounter<long>("enclave.ratelimit.rejections");
        auth.Add(1, new KeyValuePair<string, object?>("status", 401));
        auth.Add(1, new KeyValuePair<string, object?>("status", 403));
        limits.Add(1, new KeyValuePair<string, object?>("limit", "requests"));
        Request(429);
        _time.Advance(TimeSpan.FromSeconds(1));

        var snapshot = _stats.Snapshot(5);

        Assert.Equal(new LiveTotals(1, 1, 0, 1, 0, 0, 2, 1), snapshot.Totals);
        Assert.Equal(2, snapshot.Series.AuthRejections[^1]);
    }

    [Fact]
    public void Sample_ObservableGauges_KeepsOneValuePerSecondAndModel()
    {
        var queue = 0L;
        var kv = 0.0;
        _meter.CreateObservableGauge("enclave.queue.depth", () => new[]
        {
            new Measurement<long>(queue, new KeyValuePair<string, object?>("gen_ai.request.model", "chat")),
            new Measurement<long>(7, new KeyValuePair<string, object?>("gen_ai.request.model", "embed")),
        });
        _meter.CreateObservableGauge("enclave.kv_cache.usage", () => new Measurement<double>(kv, new KeyValuePair<string, object?>("gen_ai.request.model", "chat")));

        queue = 2;
        kv = 0.25;
        _stats.Sample();
        _time.Advance(TimeSpan.FromSeconds(1));
        queue = 5;
        kv = 0.5;
        _stats.Sample();
        var latest = _stats.Snapshot(60).Models;
        _time.Advance(TimeSpan.FromSeconds(1));
        var series = _stats.Snapshot(3).Series.Models;

        Assert.Equal([null, 2, 5], series["chat"].QueueDepth);
        Assert.Equal([null, 0.25, 0.5], series["chat"].KvCacheUsage);
        Assert.Equal([null, 7, 7], series["embed"].QueueDepth);
        Assert.Equal(5, latest["chat"].QueueDepth);
        Assert.Equal(0.5, latest["chat"].KvCacheUsage);
        Assert.Null(latest["chat"].ActiveSequences);
    }

    [Fact]
    public void Sample_NonFiniteGauge_IsIgnored()
    {
        _meter.CreateObservableGauge("enclave.kv_cache.usage", () => new Measurement<double>(double.NaN, new KeyValuePair<string, object?>("gen_ai.request.model", "chat")));
        _meter.CreateObservableGauge("enclave.sequences.active", () => new Measurement<int>(3, new KeyValuePair<string, object?>("gen_ai.request.model", "chat")));

        _stats.Sample();
        var latest = _stats.Snapshot(60).Models["chat"];

        Assert.Null(latest.KvCacheUsage);
        Assert.Equal(3, latest.ActiveSequences);
    }

    [Fact]
    public void Totals_InstrumentOfAnotherMeter_IsIgnored()
    {
        using var other = new Meter("Enclave.Tests.Other." + Guid.NewGuid().ToString("N"));
        other.CreateCounter<long>("enclave.requests").Add(5, new KeyValuePair<string, object?>("status", 500));
        Request(200);

        Assert.Equal(new LiveTotals(1, 0, 0, 0, 0, 0, 0, 0), _stats.Snapshot(60).Totals);
    }

    [Fact]
    public void Recent_RightAfterStart_DividesByTheSecondsElapsed()
    {
        Request(200, 10);
        _time.Advance(TimeSpan.FromSeconds(2));

        var recent = _stats.Snapshot(60).Recent;

        Assert.Equal(5, recent.RequestsPerSecond);
    }

    private static void AssertNear(double expected, double? actual)
    {
        Assert.NotNull(actual);
        Assert.InRange(actual.Value, expected * 0.98, expected * 1.02);
    }
}
