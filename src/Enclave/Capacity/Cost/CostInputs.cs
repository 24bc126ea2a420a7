namespace Enclave.Capacity.Cost;

/// <summary>
/// Everything the cost model needs, resolved from options, configuration and a bench result: what the server
/// costs, what it draws, how busy it is, and how fast it serves the measured mix (at full load). Immutable.
/// </summary>
public sealed record CostInputs
{
    public string? Hardware { get; init; }

    public required double PriceUsd { get; init; }

    public required double AmortizationMonths { get; init; }

    public required double PowerWatts { get; init; }

    public required double IdlePowerWatts { get; init; }

    public required double EnergyPricePerKwh { get; init; }

    public required double Pue { get; init; }

    public required double Utilization { get; init; }

    public required double OtherMonthlyUsd { get; init; }

    /// <summary>Output tokens per second of one server at full load.</summary>
    public required double OutputTokensPerS { get; init; }

    /// <summary>Prompt tokens per second processed alongside, in the measured mix.</summary>
    public required double InputTokensPerS { get; init; }

    public double? RequestsPerS { get; init; }

    /// <summary>Where the throughput came from, e.g. <c>bench.json level c=8 (best under SLO)</c>.</summary>
    public required string ThroughputSource { get; init; }

    /// <summary>Cost of a prompt token relative to a completion token, for chargeback.</summary>
    public required double InputTokenWeight { get; init; }

    public required string InputTokenWeightSource { get; init; }
}
