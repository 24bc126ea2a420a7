namespace Enclave.Ui.Internal;

/// <summary>
/// What the gateway did in one wall-clock second: counts, token sums, latency sketches, and the gauges sampled in
/// it per model. Buckets live in a ring and are reused; <see cref="Reset"/> makes one stand for a new second. Not
/// thread-safe; <see cref="LiveStats"/> holds its lock around every access.
/// </summary>
internal sealed class SecondBucket
{
    /// <summary>Most models whose gauges one second keeps; model names come from configuration, so this is a guard only.</summary>
    public const int MaxModels = 256;

    /// <summary>The Unix second this bucket holds, or <see cref="long.MinValue"/> when it has never been used.</summary>
    public long Second { get; private set; } = long.MinValue;

    public long Requests { get; set; }

    public long ServerErrors { get; set; }

    public long ClientErrors { get; set; }

    public long AuthRejections { get; set; }

    public long InputTokens { get; set; }

    public long OutputTokens { get; set; }

    public LatencySketch TimeToFirstToken { get; } = new();

    public LatencySketch Duration { get; } = new();

    public Dictionary<string, ModelGauges> Models { get; } = new(StringComparer.Ordinal);

    public void Reset(long second)
    {
        Second = second;
        Requests = ServerErrors = ClientErrors = AuthRejections = InputTokens = OutputTokens = 0;
        TimeToFirstToken.Clear();
        Duration.Clear();
        Models.Clear();
    }

    /// <summary>The gauges of <paramref name="model"/> in this second, created on first use; null past <see cref="MaxModels"/>.</summary>
    public ModelGauges? GaugesOf(string model)
    {
        if (Models.TryGetValue(model, out var gauges))
        {
            return gauges;
        }

        if (Models.Count >= MaxModels)
        {
            return null;
        }

        gauges = new ModelGauges();
        Models.Add(model, gauges);
        return gauges;
    }
}
