using System.CommandLine;
using System.Globalization;
using Enclave.Capacity;
using Enclave.Capacity.Bench;
using Enclave.Capacity.Reports;
using Enclave.Hosting;
using Enclave.Ledger;

namespace Enclave.Cli;

/// <summary>
/// <c>enclave bench --url URL --model NAME [--concurrency LIST | --rate LIST] [--requests N] [--duration D]
/// [--dataset FILE | --from-ledger | --input-tokens N --output-tokens N] [--json FILE] [--html FILE]</c>: a load test
/// of any OpenAI-compatible server with streaming-aware timing. Bad input exits with 2 and one line on stderr.
/// </summary>
internal static class BenchCommand
{
    private const int MaxConcurrency = 4096;

    public static Command Create()
    {
        var url = new Option<string?>("--url") { Description = "Base URL of an OpenAI-compatible server (Enclave, vLLM, llama-server, Ollama /v1). /v1 is added unless present." };
        var model = new Option<string?>("--model") { Description = "Model name to send." };
        var apiKey = new Option<string?>("--api-key") { Description = "Bearer key for the server (default: $ENCLAVE_API_KEY)." };
        var endpoint = new Option<string>("--endpoint") { Description = "chat (/v1/chat/completions) or completions (/v1/completions).", DefaultValueFactory = _ => "chat" };
        endpoint.AcceptOnlyFromAmong("chat", "completions");
        var concurrency = new Option<string?>("--concurrency") { Description = "Closed-loop sweep: requests kept in flight per level, e.g. 1,2,4,8 (the default)." };
        var rate = new Option<string?>("--rate") { Description = "Open-loop sweep: Poisson arrivals per second per level, e.g. 0.5,1,2; 'replay' replays the ledger's recorded arrivals (with --from-ledger)." };
        var requests = new Option<int?>("--requests") { Description = "Requests per level (default 100 when no --duration is given)." };
        var duration = new Option<string?>("--duration") { Description = "Time per level, e.g. 30s, 2m: no request starts after it. With --requests, whichever comes first." };
        var warmup = new Option<int>("--warmup") { Description = "Requests sent one at a time before the first level and left out of every figure.", DefaultValueFactory = _ => 2 };
        var dataset = new Option<string?>("--dataset") { Description = "Prompts from a file: JSON lines with \"prompt\" or \"messages\", or ShareGPT conversations (JSON lines or one array)." };
        var inputTokens = new Option<string?>("--input-tokens") { Description = "Synthetic prompt length in tokens: N, A-B (uniform) or normal:MEAN:SD (default 256)." };
        var outputTokens = new Option<string?>("--output-tokens") { Description = "Output length (max_tokens): N, A-B or normal:MEAN:SD (default: the dataset's or the ledger's, else 128)." };
        var fromLedger = new Option<bool>("--from-ledger") { Description = "Prompt sizes (and, with --rate replay, arrival times) from the usage ledger's recorded requests; never their text." };
        var dataDir = new Option<string?>("--data-dir") { Description = "Data directory whose ledger --from-ledger reads (default: $ENCLAVE_HOME, else $XDG_DATA_HOME/enclave)." };
        var since = new Option<string?>("--since") { Description = "With --from-ledger: only requests from this time on (24h, 7d, 2025-06-01)." };
        var ledgerModel = new Option<string?>("--ledger-model") { Description = "With --from-ledger: only the recorded requests of this model (default: all)." };
        var speedup = new Option<double?>("--speedup") { Description = "With --rate replay: play the recorded arrivals this many times faster (default 1)." };
        var seed = new Option<int>("--seed") { Description = "Seed for prompt order, synthetic prompts and Poisson arrivals.", DefaultValueFactory = _ => 42 };
        var timeout = new Option<string>("--timeout") { Description = "A request not finished within this time counts as a timeout error.", DefaultValueFactory = _ => "5m" };
        var sloTtft = new Option<string?>("--slo-ttft") { Description = "Objective: time to first token limit, e.g. 500ms." };
        var sloTpot = new Option<string?>("--slo-tpot") { Description = "Objective: time per output token limit, e.g. 50ms." };
        var sloE2e = new Option<string?>("--slo-e2e") { Description = "Objective: end-to-end latency limit, e.g. 10s." };
        var sloPercentile = new Option<double>("--slo-percentile") { Description = "Share of requests that must meet every limit, in percent.", DefaultValueFactory = _ => 95 };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "Send ignore_eos (vLLM, llama-server) so every request produces its full output length." };
        var json = new Option<string?>("--json") { Description = "Write the result as JSON (input to enclave plan and enclave cost)." };
        var html = new Option<string?>("--html") { Description = "Write a self-contained HTML report with charts." };
        var command = new Command("bench", "Load-test an OpenAI-compatible server with real or synthetic prompts: TTFT, ITL, TPOT, latency, throughput, goodput and the knee.")
        {
            url, model, apiKey, endpoint, concurrency, rate, requests, duration, warmup, dataset, inputTokens, outputTokens, fromLedger, dataDir, since,
            ledgerModel, speedup, seed, timeout, sloTtft, sloTpot, sloE2e, sloPercentile, ignoreEos, json, html,
        };
        command.Action = new CapacityCommandAction("bench", async (parse, ct) =>
        {
            var target = new BenchTarget(
                BenchTarget.ParseUrl(parse.GetValue(url) ?? throw new CapacityUsageException("--url is required. Example: --url http://127.0.0.1:8400")),
                parse.GetValue(model) is { Length: > 0 } m ? m : throw new CapacityUsageException("--model is required: the model name the server knows."),
                parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("ENCLAVE_API_KEY"),
                parse.GetValue(endpoint) == "completions" ? BenchEndpoint.Completions : BenchEndpoint.Chat,
                parse.GetValue(ignoreEos));
            var ledger = parse.GetValue(fromLedger);
            var levels = Levels(parse.GetValue(concurrency), parse.GetValue(rate), parse.GetValue(speedup), ledger);
            var count = parse.GetValue(requests);
            if (count is < 1 or > 1_000_000)
            {
                throw new CapacityUsageException($"--requests {count} must be from 1 to 1000000.");
            }

            var time = parse.GetValue(duration) is { } d ? CapacityParse.Latency(d, "--duration") : (TimeSpan?)null;
            var warm = parse.GetValue(warmup);
            if (warm is < 0 or > 1000)
            {
                throw new CapacityUsageException($"--warmup {warm} must be from 0 to 1000.");
            }

            var settings = new BenchSettings
            {
                Target = target,
                Levels = levels,
                Requests = count ?? (time is null ? 100 : null),
                Duration = time,
                Warmup = warm,
                Seed = parse.GetValue(seed),
                Timeout = CapacityParse.Latency(parse.GetValue(timeout)!, "--timeout"),
                Slo = Slo(parse.GetValue(sloTtft), parse.GetValue(sloTpot), parse.GetValue(sloE2e), parse.GetValue(sloPercentile)),
            };
            var source = Source(parse.GetValue(dataset), parse.GetValue(inputTokens), parse.GetValue(outputTokens), ledger, parse.GetValue(dataDir), parse.GetValue(since), parse.GetValue(ledgerModel));
            var jsonPath = parse.GetValue(json);
            var htmlPath = parse.GetValue(html);

            var result = await BenchConsole.RunAsync(new BenchSession(settings, source, TimeProvider.System), settings, ct);
            var written = new List<string>();
            if (jsonPath is not null)
            {
                await CapacityJson.WriteAsync(jsonPath, result, ct);
                written.Add(Path.GetFullPath(jsonPath));
            }

            if (htmlPath is not null)
            {
                await File.WriteAllTextAsync(htmlPath, BenchHtmlReport.Render(result), ct);
                written.Add(Path.GetFullPath(htmlPath));
            }

            BenchConsole.WriteSummary(result, written);
            if (result.Levels.All(l => l.Requests.Succeeded == 0))
            {
                var first = result.Levels.SelectMany(l => l.Requests.FirstErrors).FirstOrDefault() ?? "no request was sent";
                await Console.Error.WriteLineAsync($"enclave bench: every request failed; first error: {first}");
                return 1;
            }

            return 0;
        });
        return command;
    }

    private static List<LoadLevel> Levels(string? concurrency, string? rate, double? speedup, bool fromLedger)
    {
        if (concurrency is not null && rate is not null)
        {
            throw new CapacityUsageException("--concurrency and --rate cannot be combined: run a closed-loop sweep or an open-loop one.");
        }

        if (rate is null)
        {
            if (speedup is not null)
            {
                throw new CapacityUsageException("--speedup applies only to --rate replay.");
            }

            return CapacityParse.IntList(concurrency ?? "1,2,4,8", "--concurrency", MaxConcurrency).Select(c => new LoadLevel(LoadKind.Concurrency, c)).ToList();
        }

        var levels = new List<LoadLevel>();
        foreach (var item in CapacityParse.RateList(rate, "--rate", "replay"))
        {
            if (item.Equals("replay", StringComparison.OrdinalIgnoreCase))
            {
                if (!fromLedger)
                {
                    throw new CapacityUsageException("--rate replay needs --from-ledger: it replays the ledger's recorded arrival times.");
                }

                if (speedup is <= 0 or > 10_000)
                {
                    throw new CapacityUsageException($"--speedup {speedup} must be above 0 and at most 10000.");
                }

                levels.Add(new LoadLevel(LoadKind.Replay, speedup ?? 1));
            }
            else
            {
                levels.Add(new LoadLevel(LoadKind.Rate, double.Parse(item, CultureInfo.InvariantCulture)));
            }
        }

        if (speedup is not null && levels.All(l => l.Kind != LoadKind.Replay))
        {
            throw new CapacityUsageException("--speedup applies only to --rate replay.");
        }

        return levels;
    }

    private static BenchSlo? Slo(string? ttft, string? tpot, string? e2e, double percentile)
    {
        if (percentile is <= 0 or > 100)
        {
            throw new CapacityUsageException($"--slo-percentile {percentile.ToString(CultureInfo.InvariantCulture)} must be above 0 and at most 100.");
        }

        if (ttft is null && tpot is null && e2e is null)
        {
            return null;
        }

        return new BenchSlo(
            ttft is null ? null : CapacityParse.Latency(ttft, "--slo-ttft").TotalMilliseconds,
            tpot is null ? null : CapacityParse.Latency(tpot, "--slo-tpot").TotalMilliseconds,
            e2e is null ? null : CapacityParse.Latency(e2e, "--slo-e2e").TotalMilliseconds,
            percentile);
    }

    private static PromptSourceSpec Source(string? dataset, string? input, string? output, bool fromLedger, string? dataDir, string? since, string? ledgerModel)
    {
        if (dataset is not null && fromLedger)
        {
            throw new CapacityUsageException("--dataset and --from-ledger cannot be combined: choose one source of prompts.");
        }

        if (input is not null && (dataset is not null || fromLedger))
        {
            throw new CapacityUsageException("--input-tokens applies only to synthetic prompts; the dataset or the ledger sets prompt sizes.");
        }

        if (!fromLedger && (since is not null || ledgerModel is not null || dataDir is not null))
        {
            throw new CapacityUsageException("--data-dir, --since and --ledger-model apply only with --from-ledger.");
        }

        DateTimeOffset? from = null;
        if (since is not null)
        {
            from = LedgerQueries.TryParseSince(since, TimeProvider.System.GetUtcNow(), out var parsed)
                ? parsed
                : throw new CapacityUsageException($"--since '{since}' is not a time. {LedgerQueries.SinceHelp}");
        }

        return new PromptSourceSpec
        {
            DatasetPath = dataset is null ? null : CapacityParse.ExistingFile(dataset, "--dataset"),
            InputTokens = input is null ? null : TokenDistribution.Parse(input, "--input-tokens"),
            OutputTokens = output is null ? null : TokenDistribution.Parse(output, "--output-tokens"),
            LedgerDataDir = fromLedger ? EnclaveConfiguration.ResolveDataDir(dataDir) : null,
            LedgerSince = from,
            LedgerModel = ledgerModel,
        };
    }
}
