namespace Enclave.Capacity.Cost;

/// <summary>
/// The JSON result of <c>enclave cost --json</c> (schema <c>enclave-cost/1</c>, snake_case). Money is per month
/// (730 hours) unless a name says otherwise. Immutable.
/// </summary>
public sealed record CostResult
{
    public const string SchemaName = "enclave-cost/1";

    public string Schema { get; init; } = SchemaName;

    public required DateTimeOffset CreatedAt { get; init; }

    public required CostInputs Inputs { get; init; }

    public required LocalCost Local { get; init; }

    public required IReadOnlyList<CloudComparison> Cloud { get; init; }

    public Chargeback? Chargeback { get; init; }

    public IReadOnlyList<string> Assumptions { get; init; } = [];
}

/// <summary>What one server costs per month at the configured utilization, and per token of the measured mix.</summary>
public sealed record LocalCost
{
    public required double AmortizationMonthlyUsd { get; init; }

    public required double EnergyMonthlyUsd { get; init; }

    public required double OtherMonthlyUsd { get; init; }

    public required double TotalMonthlyUsd { get; init; }

    public required double InputTokensPerMonth { get; init; }

    public required double OutputTokensPerMonth { get; init; }

    /// <summary>All of the cost divided over output tokens only.</summary>
    public required double UsdPerMillionOutputTokens { get; init; }

    /// <summary>All of the cost divided over input and output tokens alike, at the measured mix.</summary>
    public required double UsdPerMillionTokens { get; init; }

    /// <summary>The chargeback rate: per million weighted tokens (completion + weight × prompt).</summary>
    public required double UsdPerMillionWeightedTokens { get; init; }

    public double? UsdPerThousandRequests { get; init; }
}

/// <summary>
/// One cloud API against local serving for the same traffic: its cost for the month's tokens at the measured mix,
/// and the utilization (and monthly volume) at which one local server costs the same.
/// </summary>
public sealed record CloudComparison
{
    public required string Name { get; init; }

    public required double InputPerMillion { get; init; }

    public required double OutputPerMillion { get; init; }

    /// <summary>The cloud's price per million tokens at the measured input/output mix.</summary>
    public required double UsdPerMillionTokensAtMix { get; init; }

    /// <summary>What the cloud would charge for the local server's monthly volume.</summary>
    public required double MonthlyUsdSameVolume { get; init; }

    /// <summary>Cloud cost ÷ local cost for that volume (above 1: local is cheaper).</summary>
    public required double CloudToLocalRatio { get; init; }

    /// <summary>Server utilization at which local and cloud cost the same; null when local never breaks even.</summary>
    public double? BreakEvenUtilization { get; init; }

    public double? BreakEvenTokensPerMonth { get; init; }

    public double? BreakEvenRequestsPerDay { get; init; }

    public required string Verdict { get; init; }
}

/// <summary>Per-key costs from the usage ledger over a window.</summary>
public sealed record Chargeback(DateTimeOffset? Since, string? CloudModel, IReadOnlyList<ChargebackRow> Keys, ChargebackRow Total);

/// <summary>One key's usage and what it costs locally (at the weighted-token rate) and at the cloud price.</summary>
public sealed record ChargebackRow(string Key, long Requests, long PromptTokens, long CompletionTokens, double WeightedTokens, double Share, double LocalUsd, double? CloudUsd);
