using Enclave.Ui.Internal;

namespace Enclave.Ui;

public sealed partial class LiveStats
{
    /// <summary>How far back <see cref="LiveSnapshot.Models"/> looks for the latest gauge sample.</summary>
    private const int LatestGaugeSeconds = 5;

    private static readonly double[] Quantiles = [0.50, 0.95, 0.99];

    /// <summary>
    /// The last <paramref name="seconds"/> complete seconds (clamped to 1..<see cref="RetainedSeconds"/>) as series,
    /// with totals, the recent window and the latest gauges. The second in progress is left out of the series so a
    /// rate never shows a partial second; totals include it. Takes the lock for about a millisecond.
    /// </summary>
    public LiveSnapshot Snapshot(int seconds)
    {
        seconds = Math.Clamp(seconds, 1, RetainedSeconds);
        lock (_gate)
        {
            var current = Math.Max(_time.GetUtcNow().ToUnixTimeSeconds(), _latestSecond);
            var end = current - 1;
            var totals = new LiveTotals(_requests, _serverErrors + _clientErrors, _serverErrors, _clientErrors, _inputTokens, _outputTokens, _authRejections, _limitRejections);
            return new LiveSnapshot(
                StartedAt,
                end,
                seconds,
                LatencyWindowSeconds,
                RecentSeconds,
                totals,
                Recent(end),
                LatestGauges(current),
                Series(end - seconds + 1, seconds));
        }
    }

    private LiveSeries Series(long start, int count)
    {
        var time = new long[count];
        var requests = new long[count];
        var serverErrors = new long[count];
        var clientErrors = new long[count];
        var authRejections = new long[count];
        var inputTokens = new long[count];
        var outputTokens = new long[count];
        var ttft = new double?[3][];
        var duration = new double?[3][];
        for (var q = 0; q < 3; q++)
        {
            ttft[q] = new double?[count];
            duration[q] = new double?[count];
        }

        var models = new SortedDictionary<string, (double?[] Queue, double?[] Active, double?[] Kv)>(StringComparer.Ordinal);

        // Each latency point covers (s - window, s]: the window slides by adding the newest second and dropping the oldest.
        var ttftWindow = new LatencySketch();
        var durationWindow = new LatencySketch();
        for (var s = start - LatencyWindowSeconds + 1; s < start; s++)
        {
            AddTo(ttftWindow, durationWindow, Find(s));
        }

        for (var i = 0; i < count; i++)
        {
            var second = start + i;
            time[i] = second;
            var bucket = Find(second);
            AddTo(ttftWindow, durationWindow, bucket);
            if (Find(second - LatencyWindowSeconds) is { } leaving)
            {
                ttftWindow.Subtract(leaving.TimeToFirstToken);
                durationWindow.Subtract(leaving.Duration);
            }

            for (var q = 0; q < 3; q++)
            {
                ttft[q][i] = Seconds(ttftWindow.Quantile(Quantiles[q]));
                duration[q][i] = Seconds(durationWindow.Quantile(Quantiles[q]));
            }

            if (bucket is null)
            {
                continue;
            }

            requests[i] = bucket.Requests;
            serverErrors[i] = bucket.ServerErrors;
            clientErrors[i] = bucket.ClientErrors;
            authRejections[i] = bucket.AuthRejections;
            inputTokens[i] = bucket.InputTokens;
            outputTokens[i] = bucket.OutputTokens;
            foreach (var (model, gauges) in bucket.Models)
            {
                if (!models.TryGetValue(model, out var series))
                {
                    series = (new double?[count], new double?[count], new double?[count]);
                    models.Add(model, series);
                }

                series.Queue[i] = gauges.QueueDepth;
                series.Active[i] = gauges.ActiveSequences;
                series.Kv[i] = Ratio(gauges.KvCacheUsage);
            }
        }

        return new LiveSeries(
            time, requests, serverErrors, clientErrors, authRejections, inputTokens, outputTokens,
            ttft[0], ttft[1], ttft[2], duration[0], duration[1], duration[2],
            models.ToDictionary(m => m.Key, m => new LiveModelSeries(m.Value.Queue, m.Value.Active, m.Value.Kv), StringComparer.Ordinal));
    }

    /// <summary>Rates and percentiles over the last <see cref="RecentSeconds"/> complete seconds, or fewer right after start.</summary>
    private LiveRecent Recent(long end)
    {
        var span = (int)Math.Clamp(end - _startSecond + 1, 1, RecentSeconds);
        long requests = 0, errors = 0, input = 0, output = 0;
        var ttft = new LatencySketch();
        var duration = new LatencySketch();
        for (var second = end - span + 1; second <= end; second++)
        {
            if (Find(second) is not { } bucket)
            {
                continue;
            }

            requests += bucket.Requests;
            errors += bucket.ServerErrors + bucket.ClientErrors;
            input += bucket.InputTokens;
            output += bucket.OutputTokens;
            ttft.Add(bucket.TimeToFirstToken);
            duration.Add(bucket.Duration);
        }

        return new LiveRecent(
            Math.Round((double)requests / span, 3),
            requests == 0 ? 0 : Math.Round((double)errors / requests, 4),
            Math.Round((double)input / span, 2),
            Math.Round((double)output / span, 2),
            Percentiles(ttft),
            Percentiles(duration));
    }

    /// <summary>Per model, the newest sample of each gauge within the last few seconds (the second in progress included).</summary>
    private Dictionary<string, LiveModelGauges> LatestGauges(long current)
    {
        var latest = new SortedDictionary<string, LiveModelGauges>(StringComparer.Ordinal);
        for (var second = current; second > current - LatestGaugeSeconds; second--)
        {
            if (Find(second) is not { } bucket)
            {
                continue;
            }

            foreach (var (model, g) in bucket.Models)
            {
                latest[model] = latest.TryGetValue(model, out var newer)
                    ? new LiveModelGauges(newer.QueueDepth ?? g.QueueDepth, newer.ActiveSequences ?? g.ActiveSequences, newer.KvCacheUsage ?? Ratio(g.KvCacheUsage), newer.Up ?? g.Up, newer.Restarts ?? g.Restarts)
                    : new LiveModelGauges(g.QueueDepth, g.ActiveSequences, Ratio(g.KvCacheUsage), g.Up, g.Restarts);
            }
        }

        return new Dictionary<string, LiveModelGauges>(latest, StringComparer.Ordinal);
    }

    private static void AddTo(LatencySketch ttft, LatencySketch duration, SecondBucket? bucket)
    {
        if (bucket is not null)
        {
            ttft.Add(bucket.TimeToFirstToken);
            duration.Add(bucket.Duration);
        }
    }

    private static LivePercentiles Percentiles(LatencySketch sketch) =>
        new(Seconds(sketch.Quantile(0.50)), Seconds(sketch.Quantile(0.95)), Seconds(sketch.Quantile(0.99)));

    // Microsecond precision is far below the sketch's 2 % and keeps the JSON short.
    private static double? Seconds(double? value) => value is { } v ? Math.Round(v, 6) : null;

    private static double? Ratio(double? value) => value is { } v ? Math.Round(v, 4) : null;
}
