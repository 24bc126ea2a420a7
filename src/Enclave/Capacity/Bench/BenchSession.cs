using Enclave.Storage;

namespace Enclave.Capacity.Bench;

/// <summary>
/// One complete <c>enclave bench</c> run: prepares the prompts (reading the dataset or the ledger, or calibrating
/// synthetic prompt sizes against the server), warms up, runs the levels and builds the <see cref="BenchResult"/>.
/// Not thread-safe; one run per instance.
/// </summary>
public sealed class BenchSession(BenchSettings settings, PromptSourceSpec source, TimeProvider time)
{
    /// <summary>Synthetic prompts made when only a duration bounds the run.</summary>
    public const int DefaultPool = 1000;

    /// <summary>Most recorded requests replayed when only a duration bounds the run.</summary>
    public const int MaxReplay = 10_000;

    public async Task<BenchResult> RunAsync(BenchObserver? observer, CancellationToken cancellationToken)
    {
        var status = observer?.Status;
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(source);
        var started = time.GetUtcNow();
        using var client = new StreamingClient(settings.Target, settings.Timeout);
        var (prompts, info, offsets) = await PreparePromptsAsync(client, status, cancellationToken).ConfigureAwait(false);
        var runner = new BenchRunner(settings with { ReplayOffsets = offsets }, prompts, client);
        if (settings.Warmup > 0)
        {
            status?.Invoke($"warming up with {settings.Warmup} request(s)");
            var warm = await runner.WarmUpAsync(cancellationToken).ConfigureAwait(false);
            if (warm.Count > 0 && warm.All(s => !s.Succeeded))
            {
                status?.Invoke($"warning: every warm-up request failed ({warm[0].Error}: {warm[0].ErrorMessage})");
            }
        }

        var levels = new List<LevelResult>();
        for (var i = 0; i < settings.Levels.Count; i++)
        {
            var run = await runner.RunLevelAsync(i, observer?.Progress, cancellationToken).ConfigureAwait(false);
            var level = BenchAnalysis.Analyze(run, settings.Slo);
            levels.Add(level);
            observer?.LevelDone?.Invoke(i, level);
        }

        return new BenchResult
        {
            StartedAt = started,
            FinishedAt = time.GetUtcNow(),
            Target = new BenchTargetInfo(settings.Target.BaseUrl.ToString(), settings.Target.Model, settings.Target.Route, settings.Target.RequestUri.ToString()),
            Source = info,
            Settings = new BenchSettingsInfo(
                settings.Levels[0].KindName,
                settings.Levels.Select(l => l.Label).ToList(),
                settings.Requests,
                settings.Duration?.TotalSeconds,
                settings.Warmup,
                settings.Seed,
                settings.Timeout.TotalSeconds),
            Slo = settings.Slo,
            Levels = levels,
            Summary = BenchAnalysis.Summarize(levels),
        };
    }

    private int PoolSize => settings.Requests ?? DefaultPool;

    private async Task<(IReadOnlyList<BenchPrompt> Prompts, BenchSourceInfo Info, IReadOnlyList<double> Offsets)> PreparePromptsAsync(
        StreamingClient client, Action<string>? status, CancellationToken cancellationToken)
    {
        if (source.DatasetPath is { } path)
        {
            var fixedOutput = source.OutputTokens is { Kind: "fixed" } f ? (int)f.Mean : (int?)null;
            var contents = await DatasetReader.ReadAsync(path, fixedOutput, PromptSourceSpec.DefaultOutputTokens, cancellationToken).ConfigureAwait(false);
            var prompts = contents.Prompts;
            if (source.OutputTokens is { Kind: not "fixed" } drawn)
            {
                var random = new Random(settings.Seed);
                prompts = prompts.Select(p => p with { MaxTokens = drawn.Sample(random) }).ToList();
            }

            var skipped = contents.Skipped > 0 ? $", {contents.Skipped} skipped" : "";
            return (prompts, new BenchSourceInfo
            {
                Kind = "dataset",
                Description = $"{Path.GetFileName(path)} ({contents.Format}, {prompts.Count} prompts{skipped})",
                Prompts = prompts.Count,
                OutputTokens = source.OutputTokens?.Text ?? "from dataset",
            }, []);
        }

        // Read the ledger before the first request, so that a missing or empty one fails fast.
        LedgerTraffic? traffic = null;
        if (source.LedgerDataDir is { } dataDir)
        {
            // Opening a database that does not exist would create it (and its directory): check first.
            if (!File.Exists(Path.Combine(dataDir, "enclave.db")))
            {
                throw new CapacityUsageException($"--from-ledger: there is no ledger in '{dataDir}' (no enclave.db). Point --data-dir at the gateway's data directory.");
            }

            traffic = await LedgerTraffic.ReadAsync(new EnclaveDatabase(dataDir), source.LedgerSince, source.LedgerModel, cancellationToken).ConfigureAwait(false);
            if (traffic.Requests.Count == 0)
            {
                throw new CapacityUsageException($"--from-ledger: the ledger in '{dataDir}' has no successful completions{(source.LedgerModel is { } m ? $" of model '{m}'" : "")}{(source.LedgerSince is not null ? " in that window" : "")}.");
            }
        }

        status?.Invoke("calibrating prompt sizes against the server");
        var calibration = await CalibrateAsync(client, status, cancellationToken).ConfigureAwait(false);
        if (traffic is not null)
        {
            // Replay keeps the recorded order (and gaps); the other modes draw a seeded sample of the recorded shapes.
            var random = new Random(settings.Seed);
            var replay = settings.Levels.Any(l => l.Kind == LoadKind.Replay);
            var taken = replay
                ? traffic.Requests.Take(settings.Requests ?? MaxReplay).ToList()
                : Enumerable.Range(0, PoolSize).Select(_ => traffic.Requests[random.Next(traffic.Requests.Count)]).ToList();
            var shapes = taken.Select(r => (r.PromptTokens, source.OutputTokens?.Sample(random) ?? r.CompletionTokens)).ToList();
            var recorded = traffic.Requests;
            return (SyntheticPrompts.FromShapes(shapes, calibration, settings.Seed), new BenchSourceInfo
            {
                Kind = "ledger",
                Description = $"ledger shapes of {recorded.Count} recorded requests (token counts and timing only)",
                Prompts = shapes.Count,
                InputTokens = "recorded",
                OutputTokens = source.OutputTokens?.Text ?? "recorded",
                Calibration = calibration,
                Ledger = new LedgerSourceInfo(
                    recorded.Count,
                    traffic.ArrivalRate is { } rate ? Math.Round(rate, 4) : null,
                    Distribution.Of(recorded.Select(r => (double)r.PromptTokens)),
                    Distribution.Of(recorded.Select(r => (double)r.CompletionTokens)),
                    Distribution.Of(recorded.Where(r => r.TimeToFirstTokenMs is not null).Select(r => r.TimeToFirstTokenMs!.Value)),
                    Distribution.Of(recorded.Select(r => r.LatencyMs))),
            }, taken.Select(r => r.OffsetSeconds).ToList());
        }

        var input = source.InputTokens ?? PromptSourceSpec.DefaultInput;
        var output = source.OutputTokens ?? TokenDistribution.Fixed(PromptSourceSpec.DefaultOutputTokens);
        var synthetic = SyntheticPrompts.Create(PoolSize, input, output, calibration, settings.Seed);
        return (synthetic, new BenchSourceInfo
        {
            Kind = "synthetic",
            Description = $"{synthetic.Count} synthetic prompts, input {input.Text} tokens, output {output.Text} tokens",
            Prompts = synthetic.Count,
            InputTokens = input.Text,
            OutputTokens = output.Text,
            Calibration = calibration,
        }, []);
    }

    private async Task<TokenCalibration> CalibrateAsync(StreamingClient client, Action<string>? status, CancellationToken cancellationToken)
    {
        var random = new Random(settings.Seed ^ 0x5eed);
        var words = TokenCalibration.ProbeWords;
        var first = await client.ProbePromptTokensAsync(SyntheticPrompts.Text(words[0], random), cancellationToken).ConfigureAwait(false);
        if (first is { } a)
        {
            foreach (var longer in words.Skip(1))
            {
                if (await client.ProbePromptTokensAsync(SyntheticPrompts.Text(longer, random), cancellationToken).ConfigureAwait(false) is { } b)
                {
                    return TokenCalibration.Fit(words[0], a, longer, b);
                }
            }
        }

        status?.Invoke($"warning: the server reported no prompt token counts; synthetic prompt sizes assume {TokenCalibration.Default.TokensPerWord} tokens per word");
        return TokenCalibration.Default;
    }
}
