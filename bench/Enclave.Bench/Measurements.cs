namespace Enclave.Bench;

/// <summary>
/// Timing of one generation stream. <see cref="Ttft"/> is submission (raw: as the engine counts it, from
/// admission) or request start (HTTP) to the first token; <see cref="DecodeTime"/> runs from the first token to
/// the last one, so it covers <c>CompletionTokens - 1</c> token intervals.
/// </summary>
internal sealed record StreamSample(
    int PromptTokens,
    int CompletionTokens,
    TimeSpan Ttft,
    TimeSpan DecodeTime,
    TimeSpan Wall,
    int Chunks,
    string FinishReason)
{
    /// <summary>Prompt tokens per second of time to first token.</summary>
    public double PrefillRate => Ttft > TimeSpan.Zero ? PromptTokens / Ttft.TotalSeconds : double.NaN;

    /// <summary>Tokens per second after the first: (completion - 1) / (duration - TTFT).</summary>
    public double DecodeRate => CompletionTokens > 1 && DecodeTime > TimeSpan.Zero ? (CompletionTokens - 1) / DecodeTime.TotalSeconds : double.NaN;
}

/// <summary>One concurrency level: C streams started together.</summary>
internal sealed record ConcurrencyResult(int Concurrency, IReadOnlyList<StreamSample> Streams, TimeSpan Wall, long? DecodeSteps)
{
    /// <summary>Completion tokens per llama_decode call: near the stream count when the engine batches the streams together.</summary>
    public double TokensPerStep => DecodeSteps is > 0 ? TotalCompletionTokens / (double)DecodeSteps.Value : double.NaN;

    public int TotalCompletionTokens => Streams.Sum(s => s.CompletionTokens);

    /// <summary>All completion tokens over the wall time from the first request to the last stream's end.</summary>
    public double AggregateRate => TotalCompletionTokens / Wall.TotalSeconds;

    public double MedianStreamDecodeRate => Stats.Median(Streams.Select(s => s.DecodeRate));

    public double MedianTtftMs => Stats.Median(Streams.Select(s => s.Ttft.TotalMilliseconds));
}

/// <summary>Single-stream figures of one path (raw engine or HTTP).</summary>
internal sealed record SingleStreamResult(IReadOnlyList<StreamSample> Prefill, IReadOnlyList<StreamSample> Decode)
{
    public double PrefillRate => Stats.Median(Prefill.Select(s => s.PrefillRate));

    public double PrefillTtftMs => Stats.Median(Prefill.Select(s => s.Ttft.TotalMilliseconds));

    public double DecodeRate => Stats.Median(Decode.Select(s => s.DecodeRate));

    public double DecodeTtftMs => Stats.Median(Decode.Select(s => s.Ttft.TotalMilliseconds));

    public double MsPerToken => 1000.0 / DecodeRate;
}

/// <summary>A ratio with an optional target (value must be at least the target).</summary>
internal sealed record Ratio(string Name, double Value, double? Target)
{
    public bool? Pass => Target is { } t ? Value >= t : null;
}

internal static class Stats
{
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
