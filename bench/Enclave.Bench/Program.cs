using System.CommandLine;

namespace Enclave.Bench;

/// <summary>Entry point: parses the command line and runs <see cref="BenchRunner"/>.</summary>
internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "ledger")
        {
            return LedgerBench.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "proxy")
        {
            return ProxyBench.RunAsync(args[1..]);
        }

        if (Console.IsOutputRedirected)
        {
            // Spectre assumes 80 columns when it cannot ask a terminal; the tables need more.
            Spectre.Console.AnsiConsole.Profile.Width = 120;
        }

        var model = new Option<string?>("--model") { Description = "GGUF file to benchmark. Default: /tmp/synth/small-q4_0.gguf, generated with make-synthetic-gguf.py when missing." };
        var tokens = new Option<int>("--tokens") { Description = "Completion tokens per stream (decode and concurrency runs).", DefaultValueFactory = _ => 128 };
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Prompt length in tokens for the prefill measurement.", DefaultValueFactory = _ => 256 };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file." };
        var repeats = new Option<int>("--repeats") { Description = "Measured runs per single-stream figure (after one warm-up); the median is reported.", DefaultValueFactory = _ => 3 };
        var concurrency = new Option<string>("--concurrency") { Description = "Comma-separated concurrency levels for the aggregate throughput runs.", DefaultValueFactory = _ => "1,2,4,8" };
        var slots = new Option<int>("--slots") { Description = "Engine slots (concurrent sequences), the same for raw and HTTP.", DefaultValueFactory = _ => 8 };
        var threads = new Option<int>("--threads") { Description = "llama.cpp threads, the same for raw and HTTP (1 on a shared 2-core machine).", DefaultValueFactory = _ => 1 };
        var enclave = new Option<string?>("--enclave") { Description = "The enclave executable. Default: src/Enclave/bin/<this configuration>/<tfm>/enclave." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds any one request, the gateway start or the model generation may take.", DefaultValueFactory = _ => 180 };
        var skipRaw = new Option<bool>("--skip-raw-concurrency") { Description = "Do not measure the raw engine at each concurrency level (HTTP only)." };

        var root = new RootCommand("Enclave benchmark: raw llama.cpp engine against the same engine behind the HTTP gateway (SSE streaming).")
        {
            model, tokens, promptTokens, json, repeats, concurrency, slots, threads, enclave, timeout, skipRaw,
        };
        root.SetAction(async (parse, cancellationToken) =>
        {
            var levels = ParseLevels(parse.GetValue(concurrency)!);
            if (levels is null)
            {
                await Console.Error.WriteLineAsync("enclave-bench: --concurrency must be a comma-separated list of integers from 1 to 64.");
                return 2;
            }

            var settings = new BenchSettings
            {
                ModelPath = parse.GetValue(model),
                CompletionTokens = parse.GetValue(tokens),
                PromptTokens = parse.GetValue(promptTokens),
                JsonPath = parse.GetValue(json),
                Repeats = parse.GetValue(repeats),
                ConcurrencyLevels = levels,
                Slots = parse.GetValue(slots),
                Threads = parse.GetValue(threads),
                EnclavePath = parse.GetValue(enclave),
                Timeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                RawConcurrency = !parse.GetValue(skipRaw),
            };
            if (settings.Validate() is { } problem)
            {
                await Console.Error.WriteLineAsync("enclave-bench: " + problem);
                return 2;
            }

            return await BenchRunner.RunAsync(settings, cancellationToken);
        });
        return root.Parse(args).InvokeAsync();
    }

    private static int[]? ParseLevels(string text)
    {
        var levels = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var level) || level is < 1 or > 64)
            {
                return null;
            }

            levels.Add(level);
        }

        return levels.Count == 0 ? null : [.. levels.Distinct().Order()];
    }
}
