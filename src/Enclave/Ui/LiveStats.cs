using System.Diagnostics.Metrics;
using Enclave.Telemetry;
using Enclave.Ui.Internal;

namespace Enclave.Ui;

/// <summary>
/// The dashboard's memory of the last <see cref="RetainedSeconds"/> seconds: listens to the gateway's meter by
/// instrument name (so instruments the gateway does not publish simply stay empty) and folds every measurement into
/// a ring of one-second buckets, plus totals since start. Observable gauges (queue depth, active sequences, KV use,
/// worker up and restarts, per model) are read once a second by <see cref="Sample"/>. Buckets are keyed by wall-clock
/// seconds from the <see cref="TimeProvider"/>; a clock stepping back is treated as standing still. Thread-safe:
/// measurements arrive on request threads and are serialised by one short lock.
/// </summary>
public sealed partial class LiveStats : IDisposable
{
    /// <summary>How much history the ring keeps: 15 minutes of one-second buckets.</summary>
    public const int RetainedSeconds = 900;

    /// <summary>Each latency point of a series is a percentile over this many trailing seconds.</summary>
    public const int LatencyWindowSeconds = 10;

    /// <summary>The window of <see cref="LiveSnapshot.Recent"/> rates and percentiles.</summary>
    public const int RecentSeconds = 60;

    private static readonly Dictionary<string, Signal> Signals = new(StringComparer.Ordinal)
    {
        ["enclave.requests"] = Signal.Requests,
        ["gen_ai.client.token.usage"] = Signal.TokenUsage,
        ["gen_ai.server.time_to_first_token"] = Signal.TimeToFirstToken,
        ["gen_ai.server.request.duration"] = Signal.Duration,
        ["enclave.auth.rejections"] = Signal.AuthRejections,
        ["enclave.ratelimit.rejections"] = Signal.LimitRejections,
        ["enclave.queue.depth"] = Signal.QueueDepth,
        ["enclave.sequences.active"] = Signal.ActiveSequences,
        ["enclave.kv_cache.usage"] = Signal.KvCacheUsage,
        ["enclave.worker.up"] = Signal.WorkerUp,
        ["enclave.worker.restarts"] = Signal.WorkerRestarts,
    };

    private readonly Lock _gate = new();
    private readonly SecondBucket[] _ring = new SecondBucket[RetainedSeconds];
    private readonly TimeProvider _time;
    private readonly string _meterName;
    private readonly MeterListener _listener;
    private readonly long _startSecond;
    private long _latestSecond;
    private long _requests;
    private long _serverErrors;
    private long _clientErrors;
    private long _inputTokens;
    private long _outputTokens;
    private long _authRejections;
    private long _limitRejections;

    /// <summary>Listens to the gateway meter (<see cref="GatewayTelemetry.MeterName"/>).</summary>
    public LiveStats(TimeProvider time)
        : this(time, GatewayTelemetry.MeterName)
    {
    }

    /// <summary>Listens to the meter called <paramref name="meterName"/>.</summary>
    internal LiveStats(TimeProvider time, string meterName)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _meterName = meterName;
        StartedAt = time.GetUtcNow();
        _startSecond = _latestSecond = StartedAt.ToUnixTimeSeconds();
        for (var i = 0; i < _ring.Length; i++)
        {
            _ring[i] = new SecondBucket();
        }

        _listener = new MeterListener { InstrumentPublished = OnInstrumentPublished };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, state) => OnMeasurement(state, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, state) => OnMeasurement(state, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, state) => OnMeasurement(state, value, tags));
        _listener.SetMeasurementEventCallback<float>((instrument, value, tags, state) => OnMeasurement(state, value, tags));
        _listener.Start();
    }

    private enum Signal
    {
        Requests,
        TokenUsage,
        TimeToFirstToken,
        Duration,
        AuthRejections,
        LimitRejections,
        QueueDepth,
        ActiveSequences,
        KvCacheUsage,
        WorkerUp,
        WorkerRestarts,
    }

    /// <summary>When this instance started listening (the start of <see cref="LiveSnapshot.Totals"/>).</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Reads every observable instrument of the meter once, into the current second's bucket.</summary>
    /// <exception cref="AggregateException">An instrument's callback threw; the others were still read.</exception>
    public void Sample() => _listener.RecordObservableInstruments();

    public void Dispose() => _listener.Dispose();

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (instrument.Meter.Name == _meterName && Signals.TryGetValue(instrument.Name, out var signal))
        {
            listener.EnableMeasurementEvents(instrument, signal);
        }
    }

    private void OnMeasurement(object? state, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (state is not Signal signal)
        {
            return;
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        switch (signal)
        {
            case Signal.Requests:
                var status = StatusOf(tags);
                lock (_gate)
                {
                    var bucket = BucketAt(now);
                    var count = (long)value;
                    bucket.Requests += count;
                    var server = status >= 500 ? count : 0;
                    var client = status is >= 400 and < 500 ? count : 0;
                    bucket.ServerErrors += server;
                    bucket.ClientErrors += client;
                    _requests += count;
                    _serverErrors += server;
                    _clientErrors += client;
                }

                break;
            case Signal.TokenUsage:
                var type = TagString(tags, "gen_ai.token.type");
                if (type is not ("input" or "output"))
                {
                    break;
                }

                lock (_gate)
                {
                    var bucket = BucketAt(now);
                    if (type == "input")
                    {
                        bucket.InputTokens += (long)value;
                        _inputTokens += (long)value;
                    }
                    else
                    {
                        bucket.OutputTokens += (long)value;
                        _outputTokens += (long)value;
                    }
                }

                break;
            case Signal.TimeToFirstToken:
            case Signal.Duration:
                lock (_gate)
                {
                    var bucket = BucketAt(now);
                    (signal == Signal.Duration ? bucket.Duration : bucket.TimeToFirstToken).Add(value);
                }

                break;
            case Signal.AuthRejections:
                lock (_gate)
                {
                    BucketAt(now).AuthRejections += (long)value;
                    _authRejections += (long)value;
                }

                break;
            case Signal.LimitRejections:
                lock (_gate)
                {
                    _limitRejections += (long)value;
                }

                break;
            default:
                if (!double.IsFinite(value))
                {
                    break;
                }

                var model = TagString(tags, "gen_ai.request.model") ?? "";
                lock (_gate)
                {
                    if (BucketAt(now).GaugesOf(model) is { } gauges)
                    {
                        SetGauge(gauges, signal, value);
                    }
                }

                break;
        }
    }

    private static void SetGauge(ModelGauges gauges, Signal signal, double value)
    {
        switch (signal)
        {
            case Signal.QueueDepth:
                gauges.QueueDepth = value;
                break;
            case Signal.ActiveSequences:
                gauges.ActiveSequences = value;
                break;
            case Signal.KvCacheUsage:
                gauges.KvCacheUsage = value;
                break;
            case Signal.WorkerUp:
                gauges.Up = value;
                break;
            case Signal.WorkerRestarts:
                gauges.Restarts = value;
                break;
            default:
                break;
        }
    }

    /// <summary>The bucket of <paramref name="second"/>, reset when its slot still holds an older second. Caller holds the lock.</summary>
    private SecondBucket BucketAt(long second)
    {
        second = Math.Max(second, _latestSecond);
        _latestSecond = second;
        var bucket = _ring[Slot(second)];
        if (bucket.Second != second)
        {
            bucket.Reset(second);
        }

        return bucket;
    }

    /// <summary>The bucket holding <paramref name="second"/>, or null when that second saw nothing or has rolled out. Caller holds the lock.</summary>
    private SecondBucket? Find(long second)
    {
        var bucket = _ring[Slot(second)];
        return bucket.Second == second ? bucket : null;
    }

    private static int Slot(long second) => (int)(((second % RetainedSeconds) + RetainedSeconds) % RetainedSeconds);

    private static int StatusOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "status")
            {
                return tag.Value switch
                {
                    int i => i,
                    long l => (int)l,
                    short s => s,
                    string text when int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed) => parsed,
                    _ => 0,
                };
            }
        }

        return 0;
    }

    private static string? TagString(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == key)
            {
                return tag.Value as string ?? tag.Value?.ToString();
            }
        }

        return null;
    }
}
