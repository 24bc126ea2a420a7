using Enclave.Capacity.Bench;

namespace Enclave.Capacity.Plan;

/// <summary>
/// A server's measured service curve from a closed-loop bench: at n requests in flight it completes X(n) requests
/// per second. Read as a load-dependent server (the flow-equivalent server of queueing theory): with n requests in
/// service, work is done at rate μ(n) = X(n), shared equally. Between measured points μ is interpolated linearly;
/// below the first it scales with n (one request alone is served at X(1) when that was measured); beyond the last
/// it stays flat. Each request's work is drawn from the end-to-end latencies measured at the lightest level,
/// normalised to mean 1, so the spread of output lengths carries over. Immutable.
/// </summary>
public sealed class ServiceCurve
{
    private readonly IReadOnlyList<double>[] _ttft;

    private ServiceCurve(IReadOnlyList<CurvePoint> points, IReadOnlyList<double> work, IReadOnlyList<double>[] ttft)
    {
        Points = points;
        Work = work;
        _ttft = ttft;
    }

    public IReadOnlyList<CurvePoint> Points { get; }

    /// <summary>Service demands with mean 1.</summary>
    public IReadOnlyList<double> Work { get; }

    public int MaxMeasuredConcurrency => Points[^1].Concurrency;

    /// <summary>Builds the curve from a bench result's concurrency levels that had successful requests.</summary>
    public static ServiceCurve FromBench(BenchResult bench)
    {
        ArgumentNullException.ThrowIfNull(bench);
        var levels = bench.Levels
            .Where(l => l.Load.Kind == "concurrency" && l.Requests.Succeeded > 0 && l.Throughput.RequestsPerS > 0)
            .GroupBy(l => (int)l.Load.Value)
            .Select(g => g.Last())
            .OrderBy(l => l.Load.Value)
            .ToList();
        if (levels.Count == 0)
        {
            throw new CapacityUsageException("--bench: the result has no closed-loop (--concurrency) level with successful requests; replica planning needs the service time at each concurrency.");
        }

        return Create(
            levels.Select(l => new CurvePoint((int)l.Load.Value, l.Throughput.RequestsPerS, l.E2eMs.P50, l.TtftMs.P50)).ToList(),
            levels[0].Samples.E2eMs,
            levels.Select(l => l.Samples.TtftMs).ToArray());
    }

    /// <summary>A curve from explicit points, work samples (any scale) and TTFT samples per point.</summary>
    public static ServiceCurve Create(IReadOnlyList<CurvePoint> points, IReadOnlyList<double> workSamples, IReadOnlyList<double>[] ttftSamples)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(workSamples);
        ArgumentNullException.ThrowIfNull(ttftSamples);
        if (points.Count == 0 || points.Count != ttftSamples.Length || points.Any(p => p.Concurrency < 1 || p.RequestsPerS <= 0))
        {
            throw new ArgumentException("A service curve needs at least one point with concurrency >= 1 and a positive rate, and TTFT samples for each.", nameof(points));
        }

        var positive = workSamples.Where(w => w > 0 && double.IsFinite(w)).ToList();
        var mean = positive.Count > 0 ? positive.Average() : 1;
        IReadOnlyList<double> work = positive.Count > 0 ? positive.Select(w => w / mean).ToList() : [1.0];
        return new ServiceCurve(points, work, ttftSamples);
    }

    /// <summary>μ(n): requests per second completed with <paramref name="n"/> in service.</summary>
    public double Rate(int n)
    {
        if (n <= 0)
        {
            return 0;
        }

        var first = Points[0];
        if (n <= first.Concurrency)
        {
            return first.RequestsPerS * n / first.Concurrency;
        }

        for (var i = 1; i < Points.Count; i++)
        {
            var (a, b) = (Points[i - 1], Points[i]);
            if (n <= b.Concurrency)
            {
                return a.RequestsPerS + ((b.RequestsPerS - a.RequestsPerS) * (n - a.Concurrency) / (b.Concurrency - a.Concurrency));
            }
        }

        return Points[^1].RequestsPerS;
    }

    /// <summary>The most requests per second one replica with <paramref name="slots"/> slots can complete.</summary>
    public double MaxRate(int slots) => Enumerable.Range(1, Math.Max(1, slots)).Max(Rate);

    /// <summary>A measured TTFT from the point nearest to <paramref name="n"/> in flight.</summary>
    public double SampleTtft(int n, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var nearest = 0;
        for (var i = 1; i < Points.Count; i++)
        {
            if (Math.Abs(Points[i].Concurrency - n) < Math.Abs(Points[nearest].Concurrency - n))
            {
                nearest = i;
            }
        }

        var samples = _ttft[nearest];
        return samples.Count > 0 ? samples[random.Next(samples.Count)] : Points[nearest].TtftP50Ms;
    }
}

/// <summary>One measured point of a service curve. Immutable.</summary>
public sealed record CurvePoint(int Concurrency, double RequestsPerS, double E2eP50Ms, double TtftP50Ms);
