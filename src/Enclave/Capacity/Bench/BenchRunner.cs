using System.Collections.Concurrent;
using System.Diagnostics;

namespace Enclave.Capacity.Bench;

/// <summary>
/// Drives the load levels of a <see cref="BenchSettings"/> in order against one server. Closed-loop levels keep N
/// requests in flight; open-loop levels start requests at Poisson (or recorded) arrival times whatever the server
/// does, so a slow server builds a queue as it would in production. Every level sends the same prompts in the
/// same seeded order. Not thread-safe: run one at a time.
/// </summary>
public sealed class BenchRunner
{
    private readonly BenchSettings _settings;
    private readonly IReadOnlyList<BenchPrompt> _prompts;
    private readonly StreamingClient _client;
    private readonly int[] _order;

    public BenchRunner(BenchSettings settings, IReadOnlyList<BenchPrompt> prompts, StreamingClient client)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(client);
        if (prompts.Count == 0)
        {
            throw new ArgumentException("A run needs at least one prompt.", nameof(prompts));
        }

        if (settings.Requests is null && settings.Duration is null)
        {
            throw new ArgumentException("A run needs a request count, a duration, or both.", nameof(settings));
        }

        _settings = settings;
        _prompts = prompts;
        _client = client;
        _order = Enumerable.Range(0, prompts.Count).ToArray();
        new Random(settings.Seed).Shuffle(_order);
    }

    /// <summary>Sends the warm-up requests one at a time and returns them (they count in no figure).</summary>
    public async Task<IReadOnlyList<RequestSample>> WarmUpAsync(CancellationToken cancellationToken)
    {
        var samples = new List<RequestSample>();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < _settings.Warmup; i++)
        {
            // From the end of the order, so a small run does not measure on prompts it already sent.
            var prompt = _prompts[_order[_order.Length - 1 - (i % _order.Length)]];
            samples.Add(await _client.SendAsync(prompt, start, cancellationToken).ConfigureAwait(false));
        }

        return samples;
    }

    /// <summary>Runs every level in order; <paramref name="progress"/> hears of each finished request.</summary>
    public async Task<IReadOnlyList<LevelRun>> RunAsync(Action<LevelProgress>? progress, CancellationToken cancellationToken)
    {
        var runs = new List<LevelRun>();
        for (var i = 0; i < _settings.Levels.Count; i++)
        {
            runs.Add(await RunLevelAsync(i, progress, cancellationToken).ConfigureAwait(false));
        }

        return runs;
    }

    /// <summary>Runs one level.</summary>
    public Task<LevelRun> RunLevelAsync(int index, Action<LevelProgress>? progress, CancellationToken cancellationToken)
    {
        var level = _settings.Levels[index];
        var counter = new Counter(index, level, progress);
        return level.Kind == LoadKind.Concurrency
            ? ClosedLoopAsync(level, counter, cancellationToken)
            : OpenLoopAsync(index, level, counter, cancellationToken);
    }

    private BenchPrompt PromptFor(int request, bool inRecordedOrder) =>
        _prompts[inRecordedOrder ? request % _prompts.Count : _order[request % _order.Length]];

    private async Task<LevelRun> ClosedLoopAsync(LoadLevel level, Counter counter, CancellationToken cancellationToken)
    {
        var samples = new ConcurrentBag<(int Index, RequestSample Sample)>();
        var next = -1;
        var start = Stopwatch.GetTimestamp();
        async Task WorkerAsync()
        {
            while (true)
            {
                var request = Interlocked.Increment(ref next);
                if (!MayStart(request, start))
                {
                    return;
                }

                var sample = await _client.SendAsync(PromptFor(request, false), start, cancellationToken).ConfigureAwait(false);
                samples.Add((request, sample));
                counter.Finished(sample, start);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, (int)level.Value).Select(_ => Task.Run(WorkerAsync, cancellationToken))).ConfigureAwait(false);
        return new LevelRun(level, Ordered(samples), Stopwatch.GetElapsedTime(start).TotalSeconds, null, null);
    }

    private async Task<LevelRun> OpenLoopAsync(int index, LoadLevel level, Counter counter, CancellationToken cancellationToken)
    {
        var arrivals = Arrivals(index, level);
        var samples = new ConcurrentBag<(int Index, RequestSample Sample)>();
        var lags = new List<double>();
        var running = new List<Task>();
        var start = Stopwatch.GetTimestamp();
        for (var request = 0; request < arrivals.Count; request++)
        {
            var due = TimeSpan.FromSeconds(arrivals[request]);
            if (!MayStart(request, start, due))
            {
                break;
            }

            var wait = due - Stopwatch.GetElapsedTime(start);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }

            lags.Add(Math.Max(0, (Stopwatch.GetElapsedTime(start) - due).TotalMilliseconds));
            var id = request;
            var prompt = PromptFor(request, level.Kind == LoadKind.Replay);
            running.Add(Task.Run(
                async () =>
                {
                    var sample = await _client.SendAsync(prompt, start, cancellationToken).ConfigureAwait(false);
                    samples.Add((id, sample));
                    counter.Finished(sample, start);
                },
                cancellationToken));
        }

        await Task.WhenAll(running).ConfigureAwait(false);
        var duration = Stopwatch.GetElapsedTime(start).TotalSeconds;
        lags.Sort();
        var offered = level.Kind == LoadKind.Rate
            ? level.Value
            : running.Count > 1 && arrivals[running.Count - 1] > 0 ? (running.Count - 1) / arrivals[running.Count - 1] : (double?)null;
        return new LevelRun(level, Ordered(samples), duration, offered, lags.Count == 0 ? null : Distribution.Percentile(lags, 99));
    }

    /// <summary>Arrival offsets in seconds: seeded exponential gaps, or the recorded offsets sped up.</summary>
    private List<double> Arrivals(int index, LoadLevel level)
    {
        var limit = _settings.Requests ?? int.MaxValue;
        var horizon = _settings.Duration?.TotalSeconds ?? double.PositiveInfinity;
        var arrivals = new List<double>();
        if (level.Kind == LoadKind.Replay)
        {
            var first = _settings.ReplayOffsets.Count > 0 ? _settings.ReplayOffsets[0] : 0;
            foreach (var offset in _settings.ReplayOffsets.Take(limit))
            {
                var at = (offset - first) / level.Value;
                if (at >= horizon)
                {
                    break;
                }

                arrivals.Add(at);
            }

            return arrivals;
        }

        var random = new Random(HashCode.Combine(_settings.Seed, index, level.Value));
        var t = 0.0;
        while (arrivals.Count < limit)
        {
            t += -Math.Log(1.0 - random.NextDouble()) / level.Value;
            if (t >= horizon)
            {
                break;
            }

            arrivals.Add(t);
        }

        return arrivals;
    }

    private bool MayStart(int request, long start, TimeSpan? due = null) =>
        (_settings.Requests is not { } n || request < n)
        && (_settings.Duration is not { } d || (due ?? Stopwatch.GetElapsedTime(start)) < d);

    private static List<RequestSample> Ordered(ConcurrentBag<(int Index, RequestSample Sample)> samples) =>
        samples.OrderBy(s => s.Index).Select(s => s.Sample).ToList();

    /// <summary>Counts finished requests and reports progress. Thread-safe.</summary>
    private sealed class Counter(int index, LoadLevel level, Action<LevelProgress>? progress)
    {
        private int _finished;
        private int _failed;
        private long _tokens;

        public void Finished(RequestSample sample, long start)
        {
            var finished = Interlocked.Increment(ref _finished);
            var failed = sample.Succeeded ? Volatile.Read(ref _failed) : Interlocked.Increment(ref _failed);
            var tokens = Interlocked.Add(ref _tokens, sample.OutputTokens);
            progress?.Invoke(new LevelProgress(index, level, finished, failed, Stopwatch.GetElapsedTime(start), tokens));
        }
    }
}
