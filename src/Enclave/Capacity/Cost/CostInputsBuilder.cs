using Enclave.Capacity.Bench;
using Enclave.Capacity.Hardware;

namespace Enclave.Capacity.Cost;

/// <summary>
/// Resolves <see cref="CostInputs"/>: each figure from its command-line value, else <c>Capacity:Cost</c>, else the
/// named hardware profile, else the built-in default; the throughput from a bench result (the best level under its
/// objective, else its knee, else its peak) or from explicit figures. Thread-safe (stateless).
/// </summary>
public static class CostInputsBuilder
{
    /// <summary>Command-line values; null means "not given".</summary>
    public sealed record GivenValues
    {
        public string? Hardware { get; init; }

        public double? PriceUsd { get; init; }

        public double? AmortizationMonths { get; init; }

        public double? PowerWatts { get; init; }

        public double? IdlePowerWatts { get; init; }

        public double? EnergyPricePerKwh { get; init; }

        public double? Pue { get; init; }

        public double? Utilization { get; init; }

        public double? OtherMonthlyUsd { get; init; }

        public double? OutputTokensPerS { get; init; }

        public double? InputTokensPerS { get; init; }

        public string? Level { get; init; }
    }

    public static CostInputs Build(CostOptions options, IReadOnlyList<HardwareProfile> profiles, GivenValues given, BenchResult? bench, string? benchName)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(profiles);
        ArgumentNullException.ThrowIfNull(given);
        var hardwareName = given.Hardware ?? options.Hardware;
        HardwareProfile? profile = null;
        if (hardwareName is not null)
        {
            profile = profiles.FirstOrDefault(p => p.Name.Equals(hardwareName, StringComparison.OrdinalIgnoreCase))
                ?? throw new CapacityUsageException($"hardware profile '{hardwareName}' is not known. Known: {string.Join(", ", profiles.Select(p => p.Name))}.");
        }

        var price = given.PriceUsd ?? options.PriceUsd ?? profile?.PriceUsd
            ?? throw new CapacityUsageException("no hardware price: pass --price USD or set Capacity:Cost:PriceUsd (or PriceUsd of the profile named by Capacity:Cost:Hardware) in enclave.json.");
        var power = given.PowerWatts ?? options.PowerWatts ?? profile?.PowerWatts
            ?? throw new CapacityUsageException("no power draw: pass --power WATTS or set Capacity:Cost:PowerWatts (or name a hardware profile with --hardware).");
        var idle = given.IdlePowerWatts ?? options.IdlePowerWatts ?? power;
        if (idle > power)
        {
            throw new CapacityUsageException($"idle power {idle} W is above the load power {power} W.");
        }

        var (output, input, rps, source) = Throughput(given, bench, benchName);
        var (weight, weightSource) = InputWeight(options, bench);
        return new CostInputs
        {
            Hardware = profile?.Name,
            PriceUsd = price,
            AmortizationMonths = given.AmortizationMonths ?? options.AmortizationMonths,
            PowerWatts = power,
            IdlePowerWatts = idle,
            EnergyPricePerKwh = given.EnergyPricePerKwh ?? options.EnergyPricePerKwh,
            Pue = given.Pue ?? options.Pue,
            Utilization = given.Utilization ?? options.Utilization,
            OtherMonthlyUsd = given.OtherMonthlyUsd ?? options.OtherMonthlyUsd,
            OutputTokensPerS = output,
            InputTokensPerS = input,
            RequestsPerS = rps,
            ThroughputSource = source,
            InputTokenWeight = Math.Round(weight, 4),
            InputTokenWeightSource = weightSource,
        };
    }

    /// <summary>The bench level whose throughput prices the tokens: the one named, else best under SLO, else the knee, else the peak.</summary>
    public static (LevelResult Level, string Why) ChooseLevel(BenchResult bench, string? label)
    {
        ArgumentNullException.ThrowIfNull(bench);
        if (label is not null)
        {
            return (bench.Levels.FirstOrDefault(l => l.Load.Label.Equals(label, StringComparison.OrdinalIgnoreCase))
                ?? throw new CapacityUsageException($"--level '{label}' is not a level of the bench result. Levels: {string.Join(", ", bench.Levels.Select(l => l.Load.Label))}."), "chosen with --level");
        }

        if (bench.Summary.BestUnderSloIndex is { } best)
        {
            return (bench.Levels[best], "highest load meeting the bench's SLO");
        }

        return bench.Summary.Knee is { } knee
            ? (bench.Levels[knee.Index], "the knee")
            : (bench.Levels[bench.Summary.PeakThroughputIndex], "peak throughput");
    }

    private static (double Output, double Input, double? Rps, string Source) Throughput(GivenValues given, BenchResult? bench, string? benchName)
    {
        if (given.OutputTokensPerS is { } output)
        {
            if (bench is not null)
            {
                throw new CapacityUsageException("--bench and --throughput cannot be combined: take the throughput from one of them.");
            }

            return (output, given.InputTokensPerS ?? 0, null, "given with --throughput");
        }

        if (bench is null)
        {
            throw new CapacityUsageException("no throughput: pass --bench FILE (an enclave bench --json result) or --throughput TOKENS_PER_S.");
        }

        var (level, why) = ChooseLevel(bench, given.Level);
        if (level.Throughput.OutputTokensPerS <= 0)
        {
            throw new CapacityUsageException($"bench level {level.Load.Label} produced no output tokens; choose another with --level.");
        }

        return (level.Throughput.OutputTokensPerS, level.Throughput.InputTokensPerS, level.Throughput.RequestsPerS, $"{benchName} level {level.Load.Label} ({why})");
    }

    /// <summary>
    /// Prefill time per prompt token ÷ decode time per output token at the lightest bench level, when configured
    /// weight is absent; 1 without a bench.
    /// </summary>
    private static (double Weight, string Source) InputWeight(CostOptions options, BenchResult? bench)
    {
        if (options.InputTokenWeight is { } configured)
        {
            return (configured, "Capacity:Cost:InputTokenWeight");
        }

        var light = bench?.Levels.Where(l => l.Requests.Succeeded > 0 && l.InputTokens.Count > 0 && l.InputTokens.Mean > 0 && l.TpotMs.P50 > 0).MinBy(l => l.ConcurrencyAchieved);
        if (light is null)
        {
            return (1, "default (no bench level with prompt sizes and TPOT)");
        }

        var prefill = light.TtftMs.P50 / light.InputTokens.Mean;
        return (Math.Clamp(prefill / light.TpotMs.P50, 0, 1), $"measured at {light.Load.Label}: TTFT p50 / prompt tokens ÷ TPOT p50");
    }
}
