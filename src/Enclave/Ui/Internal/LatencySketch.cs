namespace Enclave.Ui.Internal;

/// <summary>
/// A fixed-size log-bucketed histogram of durations in seconds (the DDSketch layout): each bin covers values whose
/// ratio is at most <see cref="Gamma"/>, so any quantile it reports is within <see cref="RelativeAccuracy"/> of a
/// recorded value. Sketches of equal layout add and subtract bin by bin, which is what lets a window slide over
/// per-second sketches. Values below <see cref="MinSeconds"/> land in the first bin and above <see cref="MaxSeconds"/>
/// in the last. The bins are allocated on the first value, so the many seconds without traffic cost nothing. Not
/// thread-safe; the owner serialises access.
/// </summary>
internal sealed class LatencySketch
{
    /// <summary>Largest relative error of a reported quantile against the nearest-rank recorded value.</summary>
    public const double RelativeAccuracy = 0.02;

    public const double MinSeconds = 50e-6;
    public const double MaxSeconds = 3600;

    private static readonly double Gamma = (1 + RelativeAccuracy) / (1 - RelativeAccuracy);
    private static readonly double LogGamma = Math.Log(Gamma);
    private static readonly int Offset = (int)Math.Ceiling(Math.Log(MinSeconds) / LogGamma);

    /// <summary>Bins from 50 µs to an hour at 2 %: 452 of them, 1.8 KB per sketch.</summary>
    public static readonly int BinCount = (int)Math.Ceiling(Math.Log(MaxSeconds) / LogGamma) - Offset + 1;

    private int[]? _bins;

    public long Count { get; private set; }

    public void Add(double seconds)
    {
        _bins ??= new int[BinCount];
        _bins[IndexOf(seconds)]++;
        Count++;
    }

    public void Add(LatencySketch other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Count == 0)
        {
            return;
        }

        _bins ??= new int[BinCount];
        var theirs = other._bins!;
        for (var i = 0; i < _bins.Length; i++)
        {
            _bins[i] += theirs[i];
        }

        Count += other.Count;
    }

    /// <summary>Removes <paramref name="other"/>, which must have been added before.</summary>
    public void Subtract(LatencySketch other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Count == 0)
        {
            return;
        }

        var bins = _bins ?? throw new InvalidOperationException("Subtracting a sketch that was never added.");
        var theirs = other._bins!;
        for (var i = 0; i < bins.Length; i++)
        {
            bins[i] -= theirs[i];
        }

        Count -= other.Count;
    }

    /// <summary>Empties the sketch, keeping its bins for reuse.</summary>
    public void Clear()
    {
        if (Count > 0)
        {
            Array.Clear(_bins!);
        }

        Count = 0;
    }

    /// <summary>The nearest-rank quantile (the ceil(q·n)-th smallest value, as the ledger's p95), or null when empty.</summary>
    public double? Quantile(double q)
    {
        if (Count == 0)
        {
            return null;
        }

        var bins = _bins!;
        var rank = Math.Clamp((long)Math.Ceiling(q * Count), 1, Count);
        long seen = 0;
        for (var i = 0; i < bins.Length; i++)
        {
            seen += bins[i];
            if (seen >= rank)
            {
                return ValueOf(i);
            }
        }

        return ValueOf(bins.Length - 1);
    }

    private static int IndexOf(double seconds)
    {
        if (!(seconds > MinSeconds))
        {
            return 0;
        }

        return Math.Min((int)Math.Ceiling(Math.Log(seconds) / LogGamma) - Offset, BinCount - 1);
    }

    // The bin (γ^(i-1), γ^i] is represented by the point whose relative distance to both ends is the same.
    private static double ValueOf(int index) => index == 0 ? MinSeconds : 2 * Math.Pow(Gamma, index + Offset) / (Gamma + 1);
}
