namespace Enclave.Capacity.Bench;

/// <summary>
/// Summary statistics of a set of values. Percentiles interpolate linearly between the two nearest ranks (the
/// default of NumPy and of most load-testing tools), so p50 of {1, 2} is 1.5. Immutable; an empty set has
/// <see cref="Count"/> 0 and zeros elsewhere.
/// </summary>
public sealed record Distribution(int Count, double Mean, double Min, double P50, double P90, double P95, double P99, double Max)
{
    public static Distribution Empty { get; } = new(0, 0, 0, 0, 0, 0, 0, 0);

    public static Distribution Of(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sorted = values.Where(double.IsFinite).ToList();
        if (sorted.Count == 0)
        {
            return Empty;
        }

        sorted.Sort();
        return new Distribution(
            sorted.Count,
            Round(sorted.Average()),
            Round(sorted[0]),
            Round(Percentile(sorted, 50)),
            Round(Percentile(sorted, 90)),
            Round(Percentile(sorted, 95)),
            Round(Percentile(sorted, 99)),
            Round(sorted[^1]));
    }

    /// <summary>The <paramref name="percentile"/>-th percentile of already sorted values (linear interpolation).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double percentile)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = percentile / 100.0 * (sorted.Count - 1);
        var low = (int)Math.Floor(rank);
        var high = Math.Min(low + 1, sorted.Count - 1);
        return sorted[low] + ((rank - low) * (sorted[high] - sorted[low]));
    }

    /// <summary>The value at <paramref name="percentile"/> (50, 90, 95 or 99; others interpolate between them).</summary>
    public double At(double percentile) => percentile switch
    {
        50 => P50,
        90 => P90,
        95 => P95,
        99 => P99,
        _ => percentile < 90 ? P50 + ((P90 - P50) * (percentile - 50) / 40) : percentile < 95 ? P90 + ((P95 - P90) * (percentile - 90) / 5) : P95 + ((P99 - P95) * (percentile - 95) / 4),
    };

    private static double Round(double value) => Math.Round(value, 3);
}
