using Enclave.Ui.Internal;

namespace Enclave.Tests.Ui;

/// <summary>The log-bucketed sketch behind the dashboard's percentiles, checked against exact nearest-rank quantiles.</summary>
public sealed class LatencySketchTests
{
    [Fact]
    public void Quantile_ValuesAcrossSixDecades_WithinRelativeAccuracyOfExactNearestRank()
    {
        var random = new Random(42);
        var values = Enumerable.Range(0, 5000).Select(_ => Math.Pow(10, random.NextDouble() * 6 - 4)).ToArray();
        var sketch = new LatencySketch();
        foreach (var v in values)
        {
            sketch.Add(v);
        }

        Array.Sort(values);
        foreach (var q in new[] { 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0 })
        {
            var exact = values[(int)Math.Ceiling(q * values.Length) - 1];
            var estimate = sketch.Quantile(q);
            Assert.NotNull(estimate);
            Assert.InRange(estimate.Value, exact * (1 - LatencySketch.RelativeAccuracy), exact * (1 + LatencySketch.RelativeAccuracy));
        }
    }

    [Fact]
    public void Subtract_AfterAdd_LeavesTheOtherSketch()
    {
        var slow = new LatencySketch();
        slow.Add(2.0);
        var fast = new LatencySketch();
        fast.Add(0.001);
        var window = new LatencySketch();
        window.Add(slow);
        window.Add(fast);
        Assert.InRange(window.Quantile(1.0)!.Value, 1.96, 2.04);

        window.Subtract(slow);

        Assert.Equal(1, window.Count);
        Assert.InRange(window.Quantile(1.0)!.Value, 0.00098, 0.00102);
        window.Subtract(fast);
        Assert.Null(window.Quantile(0.5));
    }

    [Fact]
    public void Add_OutOfRangeValues_ClampToTheEndBins()
    {
        var sketch = new LatencySketch();
        sketch.Add(0);
        sketch.Add(-1);
        sketch.Add(1e6);

        Assert.Equal(LatencySketch.MinSeconds, sketch.Quantile(0.5));
        Assert.InRange(sketch.Quantile(1.0)!.Value, LatencySketch.MaxSeconds * 0.96, LatencySketch.MaxSeconds * 1.04);
    }
}
