using System.CommandLine;
using System.Globalization;
using Enclave.Capacity;
using Enclave.Capacity.Bench;
using Enclave.Capacity.Hardware;
using Enclave.Capacity.Plan;
using Enclave.Capacity.Reports;
using Enclave.Hosting;

namespace Enclave.Cli;

/// <summary>
/// <c>enclave plan [MODEL] [--context N] [--kv-type T] [--hardware LIST|local] [--memory SIZE] [--bandwidth BW]
/// [--bench FILE --target-rps R --slo-e2e T|--slo-ttft T] [--json FILE] [--html FILE]</c>: memory fit and decode
/// bounds of a GGUF model on hardware profiles, and the replicas a target rate needs on a measured service curve.
/// </summary>
internal static class PlanCommand
{
    public static Command Create()
    {
        var model = new Argument<string?>("MODEL") { Description = "A .gguf file, or a model name configured under Models in enclave.json.", Arity = ArgumentArity.ZeroOrOne };
        var config = new Option<string?>("--config") { Description = "enclave.json with Models and Capacity:Hardware (default: ./enclave.json, else the config directory)." };
        var context = new Option<int?>("--context") { Description = "Tokens per sequence (prompt + output). Default: the model's configured ContextSize, else its training context capped at 4096." };
        var kvType = new Option<string>("--kv-type") { Description = "KV cache element type for keys and values: f16, q8_0, q4_0, bf16, f32, q5_0, q5_1, q4_1, iq4_nl.", DefaultValueFactory = _ => "f16" };
        var kvTypeV = new Option<string?>("--kv-type-v") { Description = "A different element type for values (llama.cpp --cache-type-v)." };
        var hardware = new Option<string?>("--hardware") { Description = "Profiles to plan for, comma-separated, or 'local' (this machine, bandwidth measured). Default: every known profile." };
        var memory = new Option<string?>("--memory") { Description = "Memory the model may use, e.g. 24GiB: overrides the profiles' memory, or makes a 'custom' profile." };
        var bandwidth = new Option<string?>("--bandwidth") { Description = "Memory bandwidth, e.g. 22GB/s: overrides the profiles' bandwidth, or completes a 'custom' profile." };
        var reserve = new Option<string?>("--reserve") { Description = "Memory kept back for the runtime or OS, e.g. 1GiB (default: 1 GiB on a GPU, 2 GiB on a CPU)." };
        var decodeContext = new Option<int?>("--decode-context") { Description = "Also give the single-sequence decode bound at this many tokens of context." };
        var concurrency = new Option<string?>("--concurrency") { Description = "Also give the batched decode bound at these concurrencies, e.g. 1,2,4,8 (each sequence at --decode-context, else half the context)." };
        var probeThreads = new Option<int?>("--probe-threads") { Description = "Threads for measuring bandwidth with --hardware local (default: cores - 1, as the engine decodes)." };
        var bench = new Option<string?>("--bench") { Description = "An enclave bench --json result with a --concurrency sweep: the measured service curve." };
        var targetRps = new Option<double?>("--target-rps") { Description = "With --bench: the request rate the replicas must serve (Poisson arrivals)." };
        var sloE2e = new Option<string?>("--slo-e2e") { Description = "With --bench: end-to-end latency limit, e.g. 20s (default: the bench's objective)." };
        var sloTtft = new Option<string?>("--slo-ttft") { Description = "With --bench: time-to-first-token limit, e.g. 2s (default: the bench's objective)." };
        var sloPercentile = new Option<double?>("--slo-percentile") { Description = "Percentile the limits apply to (default: the bench's, else 95)." };
        var slots = new Option<int?>("--slots") { Description = "Requests one replica serves at once (default: the highest concurrency the bench measured)." };
        var balancer = new Option<string>("--balancer") { Description = "least (fewest requests in the replica) or random.", DefaultValueFactory = _ => "least" };
        balancer.AcceptOnlyFromAmong("least", "random");
        var simRequests = new Option<int>("--sim-requests") { Description = "Requests simulated per replica count.", DefaultValueFactory = _ => 20_000 };
        var seed = new Option<int>("--seed") { Description = "Seed of the simulation.", DefaultValueFactory = _ => 42 };
        var json = new Option<string?>("--json") { Description = "Write the plan as JSON." };
        var html = new Option<string?>("--html") { Description = "Write a self-contained HTML report." };
        var command = new Command("plan", "Size a deployment: memory fit and decode bounds per hardware profile, and replicas for a target rate from a bench result.")
        {
            model, config, context, kvType, kvTypeV, hardware, memory, bandwidth, reserve, decodeContext, concurrency, probeThreads, bench, targetRps, sloE2e, sloTtft,
            sloPercentile, slots, balancer, simRequests, seed, json, html,
        };
        command.Action = new CapacityCommandAction("plan", async (parse, ct) =>
        {
            var modelText = parse.GetValue(model);
            var benchPath = parse.GetValue(bench);
            if (modelText is null && benchPath is null)
            {
                throw new CapacityUsageException("give a MODEL (a .gguf file or a configured model name), a --bench result with --target-rps, or both. See 'enclave plan --help'.");
            }

            var configFile = parse.GetValue(config);
            var options = CapacityConfiguration.Load(configFile);
            ModelMemory? memoryNeeds = null;
            KvCacheInfo? kvInfo = null;
            var fits = new List<HardwareFit>();
            if (modelText is not null)
            {
                var (path, configuredContext) = ResolveModel(modelText, configFile);
                memoryNeeds = ModelMemory.Read(path);
                var k = KvCacheType.Parse(parse.GetValue(kvType)!, "--kv-type");
                var v = parse.GetValue(kvTypeV) is { } vt ? KvCacheType.Parse(vt, "--kv-type-v") : k;
                foreach (var (type, name, length) in new[] { (k, "--kv-type", memoryNeeds.KeyLength), (v, parse.GetValue(kvTypeV) is null ? "--kv-type" : "--kv-type-v", memoryNeeds.ValueLength) })
                {
                    if (length % type.BlockSize != 0)
                    {
                        throw new CapacityUsageException($"{name} {type.Name}: the head size {length} is not a multiple of its block size {type.BlockSize}; llama.cpp cannot store this model's KV cache in it.");
                    }
                }

                var ctx = parse.GetValue(context) ?? configuredContext ?? Math.Clamp(memoryNeeds.TrainingContext is { } t && t > 0 ? t : 4096, 64, 4096);
                if (ctx is < 1 or > 10_000_000)
                {
                    throw new CapacityUsageException($"--context {ctx} must be from 1 to 10000000.");
                }

                var dc = parse.GetValue(decodeContext);
                if (dc is < 0 or > 10_000_000)
                {
                    throw new CapacityUsageException($"--decode-context {dc} must be from 0 to 10000000.");
                }

                var levels = parse.GetValue(concurrency) is { } list ? CapacityParse.IntList(list, "--concurrency", 1_000_000) : null;
                kvInfo = new KvCacheInfo(k.Name, v.Name, ctx, memoryNeeds.KvBytesPerToken(k, v), memoryNeeds.KvBytesPerToken(k, v) * ctx);
                foreach (var profile in Profiles(parse.GetValue(hardware), parse.GetValue(memory), parse.GetValue(bandwidth), parse.GetValue(reserve), parse.GetValue(probeThreads), options))
                {
                    fits.Add(SizingCalculator.Fit(memoryNeeds, k, v, ctx, profile, dc, levels));
                }
            }
            else if (parse.GetValue(hardware) is not null || parse.GetValue(memory) is not null || parse.GetValue(bandwidth) is not null)
            {
                throw new CapacityUsageException("--hardware, --memory and --bandwidth need a MODEL to size.");
            }

            ReplicaPlan? replicas = null;
            if (benchPath is not null)
            {
                var result = await CapacityJson.ReadAsync<BenchResult>(benchPath, "--bench", ct);
                var rps = parse.GetValue(targetRps) ?? throw new CapacityUsageException("--bench needs --target-rps: the request rate the replicas must serve.");
                if (rps is <= 0 or > 1_000_000)
                {
                    throw new CapacityUsageException($"--target-rps {rps.ToString(CultureInfo.InvariantCulture)} must be above 0 and at most 1000000.");
                }

                var percentile = parse.GetValue(sloPercentile) ?? result.Slo?.Percentile ?? 95;
                if (percentile is <= 0 or >= 100)
                {
                    throw new CapacityUsageException("--slo-percentile must be above 0 and below 100.");
                }

                var e2e = parse.GetValue(sloE2e) is { } e ? CapacityParse.Latency(e, "--slo-e2e").TotalMilliseconds : result.Slo?.E2eMs;
                var ttft = parse.GetValue(sloTtft) is { } f ? CapacityParse.Latency(f, "--slo-ttft").TotalMilliseconds : result.Slo?.TtftMs;
                if (e2e is null && ttft is null)
                {
                    throw new CapacityUsageException("give --slo-e2e or --slo-ttft (or bench with an objective): replicas are sized to meet a latency limit.");
                }

                var slotCount = parse.GetValue(slots);
                if (slotCount is < 1 or > 100_000)
                {
                    throw new CapacityUsageException("--slots must be from 1 to 100000.");
                }

                var simulated = parse.GetValue(simRequests);
                if (simulated is < 1000 or > 10_000_000)
                {
                    throw new CapacityUsageException("--sim-requests must be from 1000 to 10000000.");
                }

                replicas = ReplicaPlanner.Plan(
                    ServiceCurve.FromBench(result),
                    new ReplicaTarget(rps, e2e, ttft, percentile),
                    slotCount,
                    parse.GetValue(balancer) == "random" ? Balancer.Random : Balancer.Least,
                    simulated,
                    parse.GetValue(seed));
            }
            else if (parse.GetValue(targetRps) is not null)
            {
                throw new CapacityUsageException("--target-rps needs --bench: replicas are sized on a measured service curve.");
            }

            var plan = new PlanResult
            {
                CreatedAt = TimeProvider.System.GetUtcNow(),
                Model = memoryNeeds,
                KvCache = kvInfo,
                Hardware = fits,
                Replicas = replicas,
                Assumptions = memoryNeeds is null ? [] : SizingCalculator.Assumptions,
            };
            var written = new List<string>();
            if (parse.GetValue(json) is { } jsonPath)
            {
                await CapacityJson.WriteAsync(jsonPath, plan, ct);
                written.Add(Path.GetFullPath(jsonPath));
            }

            if (parse.GetValue(html) is { } htmlPath)
            {
                await File.WriteAllTextAsync(htmlPath, PlanHtmlReport.Render(plan), ct);
                written.Add(Path.GetFullPath(htmlPath));
            }

            PlanConsole.Write(plan, written);
            return 0;
        });
        return command;
    }

    /// <summary>A path to a file, or a model configured under Models:NAME (with its ContextSize when set).</summary>
    private static (string Path, int? Context) ResolveModel(string text, string? configFile)
    {
        if (File.Exists(text))
        {
            return (Path.GetFullPath(text), null);
        }

        var configuration = EnclaveConfiguration.Build(configFile, null, [], null);
        var section = configuration.GetSection("Models").GetSection(text);
        if (section["Path"] is { Length: > 0 } path)
        {
            return File.Exists(path)
                ? (Path.GetFullPath(path), int.TryParse(section["ContextSize"], NumberStyles.None, CultureInfo.InvariantCulture, out var c) && c > 0 ? c : null)
                : throw new CapacityUsageException($"model '{text}' is configured with Path '{path}', which does not exist.");
        }

        throw new CapacityUsageException($"'{text}' is neither a file nor a model configured under Models in enclave.json.");
    }

    private static List<HardwareProfile> Profiles(string? names, string? memory, string? bandwidth, string? reserve, int? probeThreads, CapacityOptions options)
    {
        var memoryGiB = memory is null ? (double?)null : CapacityParse.Bytes(memory, "--memory") / (double)(1L << 30);
        var bandwidthGBps = bandwidth is null ? (double?)null : CapacityParse.Bandwidth(bandwidth, "--bandwidth") / 1e9;
        var reserveGiB = reserve is null ? (double?)null : reserve.Trim() == "0" ? 0 : CapacityParse.Bytes(reserve, "--reserve") / (double)(1L << 30);
        if (probeThreads is < 1 or > 1024)
        {
            throw new CapacityUsageException("--probe-threads must be from 1 to 1024.");
        }

        List<HardwareProfile> profiles;
        if (names is null)
        {
            if (memoryGiB is not null)
            {
                return
                [
                    new HardwareProfile
                    {
                        Name = "custom", Kind = "custom", Description = "from --memory and --bandwidth", MemoryGiB = memoryGiB.Value,
                        BandwidthGBps = bandwidthGBps, ReservedGiB = reserveGiB ?? 0, Source = "command line",
                    },
                ];
            }

            if (bandwidthGBps is not null)
            {
                throw new CapacityUsageException("--bandwidth without --hardware needs --memory too (or name the profiles to override with --hardware).");
            }

            profiles = HardwareProfiles.All(options).ToList();
        }
        else
        {
            profiles = [];
            foreach (var name in names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                profiles.Add(name.Equals("local", StringComparison.OrdinalIgnoreCase)
                    ? LocalMachine.Measure(probeThreads ?? Math.Max(1, Environment.ProcessorCount - 1))
                    : HardwareProfiles.Find(name, options));
            }

            if (profiles.Count == 0)
            {
                throw new CapacityUsageException("--hardware needs at least one profile name.");
            }
        }

        if (memoryGiB is null && bandwidthGBps is null && reserveGiB is null)
        {
            return profiles;
        }

        return profiles.Select(p => p with
        {
            MemoryGiB = memoryGiB ?? p.MemoryGiB,
            BandwidthGBps = bandwidthGBps ?? p.BandwidthGBps,
            ReservedGiB = reserveGiB ?? p.ReservedGiB,
            Source = p.Source + " + command line",
        }).ToList();
    }
}
