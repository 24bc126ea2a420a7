using Enclave.Ledger;

namespace Enclave.Capacity.Cost;

/// <summary>
/// The cost model of <c>enclave cost</c>. One server costs, per month of 730 hours: its price ÷ the amortization
/// months, other fixed costs, and energy (idle draw all month, plus the extra draw under load for the busy share
/// of the month, times PUE and the energy price). Busy, it serves the measured throughput; so tokens per month =
/// throughput × busy seconds. Thread-safe (stateless).
/// </summary>
public static class CostCalculator
{
    public const double HoursPerMonth = 730;

    public static readonly IReadOnlyList<string> Assumptions =
    [
        "A month is 730 hours. The purchase is written off evenly over the amortization period, with no interest or resale value.",
        "Energy: idle draw all month plus (load draw - idle draw) for the busy share, times PUE and the energy price. Without an idle figure the server draws its load figure all month.",
        "Busy, the server serves the measured throughput of the chosen bench level; utilization is the busy share of the month.",
        "Cloud prices are list prices per million tokens for the same input/output mix, without caching or batch discounts.",
        "Chargeback weighs a prompt token against a completion token by the measured prefill and decode time per token (or the configured weight).",
    ];

    public static LocalCost Local(CostInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var amortization = inputs.PriceUsd / inputs.AmortizationMonths;
        var energy = EnergyMonthly(inputs, inputs.Utilization);
        var total = amortization + energy + inputs.OtherMonthlyUsd;
        var busySeconds = HoursPerMonth * 3600 * inputs.Utilization;
        var output = inputs.OutputTokensPerS * busySeconds;
        var input = inputs.InputTokensPerS * busySeconds;
        var weighted = output + (inputs.InputTokenWeight * input);
        return new LocalCost
        {
            AmortizationMonthlyUsd = Round(amortization),
            EnergyMonthlyUsd = Round(energy),
            OtherMonthlyUsd = Round(inputs.OtherMonthlyUsd),
            TotalMonthlyUsd = Round(total),
            InputTokensPerMonth = Math.Round(input),
            OutputTokensPerMonth = Math.Round(output),
            UsdPerMillionOutputTokens = Round(total / output * 1e6),
            UsdPerMillionTokens = Round(total / (input + output) * 1e6),
            UsdPerMillionWeightedTokens = Round(total / weighted * 1e6),
            UsdPerThousandRequests = inputs.RequestsPerS is { } rps && rps > 0 ? Round(total / (rps * busySeconds) * 1000) : null,
        };
    }

    public static CloudComparison Compare(CostInputs inputs, LocalCost local, CloudPrice cloud)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(cloud);
        var tokensPerSecond = inputs.InputTokensPerS + inputs.OutputTokensPerS;
        // What one fully busy hour of the server would cost at the cloud's prices.
        var cloudPerBusyHour = ((inputs.InputTokensPerS * cloud.InputPerMillion) + (inputs.OutputTokensPerS * cloud.OutputPerMillion)) * 3600 / 1e6;
        var sameVolume = cloudPerBusyHour * HoursPerMonth * inputs.Utilization;
        var fixedMonthly = (inputs.PriceUsd / inputs.AmortizationMonths) + inputs.OtherMonthlyUsd + EnergyMonthly(inputs, 0);
        var marginalPerBusyHour = (inputs.PowerWatts - inputs.IdlePowerWatts) / 1000 * inputs.EnergyPricePerKwh * inputs.Pue;
        double? utilization = cloudPerBusyHour > marginalPerBusyHour ? fixedMonthly / (HoursPerMonth * (cloudPerBusyHour - marginalPerBusyHour)) : null;
        var capacityTokens = tokensPerSecond * HoursPerMonth * 3600;
        string verdict;
        if (utilization is not { } u)
        {
            verdict = "local never breaks even: its energy alone costs more per token than this price";
        }
        else if (u > 1)
        {
            var fullLocal = fixedMonthly + (marginalPerBusyHour * HoursPerMonth);
            verdict = $"local never breaks even: even fully busy, a month costs {fullLocal / (cloudPerBusyHour * HoursPerMonth):0.0}x what this API charges for the same tokens";
        }
        else
        {
            verdict = u <= inputs.Utilization
                ? $"local is cheaper above {Percent(u)} utilization (you assume {Percent(inputs.Utilization)})"
                : $"local is cheaper only above {Percent(u)} utilization (you assume {Percent(inputs.Utilization)})";
        }

        return new CloudComparison
        {
            Name = cloud.Name,
            InputPerMillion = cloud.InputPerMillion,
            OutputPerMillion = cloud.OutputPerMillion,
            UsdPerMillionTokensAtMix = Round(cloudPerBusyHour / (tokensPerSecond * 3600) * 1e6),
            MonthlyUsdSameVolume = Round(sameVolume),
            CloudToLocalRatio = Round(sameVolume / local.TotalMonthlyUsd),
            BreakEvenUtilization = utilization is { } x ? Math.Round(x, 4) : null,
            BreakEvenTokensPerMonth = utilization is { } y && y <= 1 ? Math.Round(y * capacityTokens) : null,
            BreakEvenRequestsPerDay = utilization is { } z && z <= 1 && inputs.RequestsPerS is { } rps ? Math.Round(z * rps * 86_400) : null,
            Verdict = verdict,
        };
    }

    /// <summary>Per-key costs: each key's weighted tokens at the local rate, and its tokens at the cloud price.</summary>
    public static Chargeback Charge(IReadOnlyList<UsageRow> keys, DateTimeOffset? since, CostInputs inputs, LocalCost local, CloudPrice? cloud)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(local);
        double Weighted(UsageRow r) => r.CompletionTokens + (inputs.InputTokenWeight * r.PromptTokens);
        var total = keys.Sum(Weighted);
        ChargebackRow Row(string key, long requests, long prompt, long completion, double weighted) => new(
            key,
            requests,
            prompt,
            completion,
            Math.Round(weighted, 1),
            total > 0 ? Math.Round(weighted / total, 4) : 0,
            Round(weighted * local.UsdPerMillionWeightedTokens / 1e6),
            cloud is null ? null : Round(((prompt * cloud.InputPerMillion) + (completion * cloud.OutputPerMillion)) / 1e6));
        var rows = keys.Select(r => Row(r.Group, r.Requests, r.PromptTokens, r.CompletionTokens, Weighted(r))).OrderByDescending(r => r.WeightedTokens).ThenBy(r => r.Key, StringComparer.Ordinal).ToList();
        var sum = Row("total", keys.Sum(r => r.Requests), keys.Sum(r => r.PromptTokens), keys.Sum(r => r.CompletionTokens), total);
        return new Chargeback(since, cloud?.Name, rows, sum);
    }

    private static string Percent(double fraction) => (fraction * 100).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + "%";

    private static double EnergyMonthly(CostInputs inputs, double utilization)
    {
        var kw = (inputs.IdlePowerWatts + ((inputs.PowerWatts - inputs.IdlePowerWatts) * utilization)) / 1000;
        return kw * HoursPerMonth * inputs.EnergyPricePerKwh * inputs.Pue;
    }

    // Money stays unrounded: per-key charges can be fractions of a cent.
    private static double Round(double value) => value;
}
