using System.Diagnostics;
using System.Globalization;
using Enclave.Engine;
using Enclave.Native;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace Enclave.Bench;

/// <summary>
/// Runs the whole benchmark in one process, one path at a time: first the raw engine (loaded here, then
/// disposed), then a real <c>enclave serve</c> child process (killed at the end, also on failure). The two
/// never run together, so neither steals the other's cores.
/// </summary>
internal static class BenchRunner
{
    public static async Task<int> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        try
        {
            var model = settings.ModelPath ?? await Locations.DefaultModelAsync(settings.Timeout, Progress, cancellationToken);
            if (!File.Exists(model))
            {
                throw new BenchException($"--model '{model}' does not exist.");
            }

            var enclave = Locations.Enclave(settings.EnclavePath);
            if (Locations.BuildConfiguration != "Release")
            {
                Progress($"Warning: this is a {Locations.BuildConfiguration} build; figures are only meaningful with -c Release.");
            }

            var options = new EngineOptions { Path = model, Slots = settings.Slots, Threads = settings.Threads };
            var maxLevel = settings.ConcurrencyLevels.Max();
            var report = new BenchReport(settings, model, enclave);

            Progress($"Raw engine: loading {model} (slots {settings.Slots}, threads {settings.Threads}) ...");
            LlamaLibrary.Initialize(NullLogger.Instance);
            Prompts prompts;
            using (var engine = InferenceEngine.Load(options, NullLogger.Instance))
            {
                prompts = Prompts.Build(text => engine.Tokenize(text), settings.PromptTokens, maxLevel);
                var longest = Math.Max(prompts.Long.Tokens.Length + BenchSettings.PrefillRunTokens, prompts.Streams.Max(p => p.Tokens.Length) + settings.CompletionTokens);
                if (longest >= engine.ContextPerSequence)
                {
                    throw new BenchException($"A prompt plus its completion needs {longest} tokens but a sequence holds {engine.ContextPerSequence}; lower --tokens or --prompt-tokens.");
                }

                report.ContextPerSequence = engine.ContextPerSequence;
                report.Prompts = prompts;
                var raw = new RawEnginePath(engine, settings.Timeout);
                var monitor = new CpuMonitor();
                report.RawSingle = await MeasureSingleAsync(raw, prompts, settings, cancellationToken);
                report.Loads["raw single stream"] = monitor.Stop();
                if (settings.RawConcurrency)
                {
                    monitor = new CpuMonitor();
                    report.RawLevels = await MeasureLevelsAsync(raw, prompts, settings, cancellationToken);
                    report.Loads["raw concurrency"] = monitor.Stop();
                }

                Progress($"llama.cpp loop: concurrency {string.Join(", ", settings.ConcurrencyLevels)} x {settings.CompletionTokens} steps, no engine ...");
                monitor = new CpuMonitor();
                report.LoopLevels = LlamaLoopReference.Measure(engine, prompts, settings.ConcurrencyLevels, settings.CompletionTokens);
                report.Loads["llama.cpp loop"] = monitor.Stop();
            }

            Progress($"HTTP: starting {enclave} serve on 127.0.0.1 ...");
            using (var gateway = GatewayProcess.Start(enclave, model, settings.Slots, settings.Threads))
            using (var client = CreateClient(gateway.BaseAddress, settings.Slots))
            {
                try
                {
                    var ready = Stopwatch.GetTimestamp();
                    await gateway.WaitReadyAsync(client, settings.Timeout, cancellationToken);
                    Progress($"HTTP: ready after {Stopwatch.GetElapsedTime(ready).TotalSeconds:0.0} s (gateway pid {gateway.ProcessId}).");
                    var http = new HttpGatewayPath(client, GatewayProcess.ModelName, settings.Timeout);
                    var monitor = new CpuMonitor();
                    report.HttpSingle = await MeasureSingleAsync(http, prompts, settings, cancellationToken);
                    report.Loads["http single stream"] = monitor.Stop();
                    monitor = new CpuMonitor();
                    report.HttpLevels = await MeasureLevelsAsync(http, prompts, settings, cancellationToken);
                    report.Loads["http concurrency"] = monitor.Stop();
                }
                catch (Exception ex) when (ex is BenchException or HttpRequestException)
                {
                    throw new BenchException(ex.Message + "\nLast gateway output:\n" + gateway.LogTail(), ex);
                }
            }

            report.CheckPromptTokens(Progress);
            report.Render();
            if (settings.JsonPath is { } json)
            {
                await report.WriteJsonAsync(json, cancellationToken);
                Progress($"Wrote {json}");
            }

            return 0;
        }
        catch (Exception ex) when (ex is BenchException or LlamaException or IOException)
        {
            await Console.Error.WriteLineAsync("enclave-bench: " + ex.Message);
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("enclave-bench: cancelled.");
            return 130;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"enclave-bench: a request took longer than --timeout ({settings.Timeout.TotalSeconds:0} s).");
            return 1;
        }
    }

    /// <summary>One warm-up of each kind, then the prefill runs (long prompt) and the decode runs (short prompt, N tokens).</summary>
    private static async Task<SingleStreamResult> MeasureSingleAsync(IGenerationPath path, Prompts prompts, BenchSettings settings, CancellationToken cancellationToken)
    {
        Progress($"{path.Name}: single stream, 1 warm-up + {settings.Repeats} runs each of prefill ({prompts.Long.Tokens.Length} prompt tokens) and decode ({settings.CompletionTokens} tokens) ...");
        await path.RunAsync(prompts.Long, BenchSettings.PrefillRunTokens, cancellationToken);
        await path.RunAsync(prompts.Short, settings.CompletionTokens, cancellationToken);
        var prefill = new List<StreamSample>();
        for (var i = 0; i < settings.Repeats; i++)
        {
            prefill.Add(await path.RunAsync(prompts.Long, BenchSettings.PrefillRunTokens, cancellationToken));
        }

        var decode = new List<StreamSample>();
        for (var i = 0; i < settings.Repeats; i++)
        {
            var sample = await path.RunAsync(prompts.Short, settings.CompletionTokens, cancellationToken);
            if (sample.CompletionTokens != settings.CompletionTokens)
            {
                Progress($"{path.Name}: note: a decode run stopped after {sample.CompletionTokens} of {settings.CompletionTokens} tokens ({sample.FinishReason}).");
            }

            decode.Add(sample);
        }

        return new SingleStreamResult(prefill, decode);
    }

    /// <summary>One warm-up round at the highest level, then each level once: C streams started together.</summary>
    private static async Task<List<ConcurrencyResult>> MeasureLevelsAsync(IGenerationPath path, Prompts prompts, BenchSettings settings, CancellationToken cancellationToken)
    {
        var maxLevel = settings.ConcurrencyLevels.Max();
        Progress($"{path.Name}: concurrency {string.Join(", ", settings.ConcurrencyLevels)} x {settings.CompletionTokens} tokens (warm-up at {maxLevel}) ...");
        await RunLevelAsync(path, prompts, maxLevel, Math.Min(settings.CompletionTokens, 32), cancellationToken);
        var results = new List<ConcurrencyResult>();
        foreach (var level in settings.ConcurrencyLevels)
        {
            results.Add(await RunLevelAsync(path, prompts, level, settings.CompletionTokens, cancellationToken));
        }

        return results;
    }

    private static async Task<ConcurrencyResult> RunLevelAsync(IGenerationPath path, Prompts prompts, int level, int tokens, CancellationToken cancellationToken)
    {
        var stepsBefore = await path.DecodeStepsAsync(cancellationToken);
        var start = Stopwatch.GetTimestamp();
        var streams = Enumerable.Range(0, level)
            .Select(i => Task.Run(() => path.RunAsync(prompts.Streams[i], tokens, cancellationToken), cancellationToken))
            .ToArray();
        var samples = await Task.WhenAll(streams);
        var wall = Stopwatch.GetElapsedTime(start);
        var stepsAfter = await path.DecodeStepsAsync(cancellationToken);
        return new ConcurrencyResult(level, samples, wall, stepsAfter - stepsBefore);
    }

    private static HttpClient CreateClient(Uri baseAddress, int slots) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        MaxConnectionsPerServer = Math.Max(16, slots * 2),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    })
    {
        BaseAddress = baseAddress,
        Timeout = Timeout.InfiniteTimeSpan, // Each request has its own --timeout (covering the streamed body too).
    };

    private static void Progress(string message) =>
        AnsiConsole.MarkupLine("[grey]" + Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"[{TimeProvider.System.GetLocalNow():HH:mm:ss}] ")) + Markup.Escape(message) + "[/]");
}
