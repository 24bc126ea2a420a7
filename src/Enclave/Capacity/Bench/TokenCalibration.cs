namespace Enclave.Capacity.Bench;

/// <summary>
/// How many prompt tokens the target counts for a synthetic prompt of a given number of words:
/// <c>tokens = Intercept + TokensPerWord × words</c>. The intercept holds what the server adds around the text
/// (a chat template, a BOS token). Measured from two probe requests when the server reports usage, otherwise the
/// <see cref="Default"/> estimate. Immutable.
/// </summary>
public sealed record TokenCalibration(double Intercept, double TokensPerWord, string Source)
{
    /// <summary>English prose with a 32k–150k vocabulary: about 1.3 tokens per word, no template.</summary>
    public static TokenCalibration Default { get; } = new(0, 1.3, "default");

    /// <summary>
    /// Probe prompt sizes in words: the first, then the largest of the rest that the server accepts (a model with a
    /// small context refuses the longer ones).
    /// </summary>
    public static readonly int[] ProbeWords = [16, 96, 48, 32];

    /// <summary>Fits the line through two probes; falls back to <see cref="Default"/> when they make no sense.</summary>
    public static TokenCalibration Fit(int words1, int tokens1, int words2, int tokens2)
    {
        if (words2 <= words1 || tokens2 <= tokens1 || tokens1 <= 0)
        {
            return Default;
        }

        var slope = (double)(tokens2 - tokens1) / (words2 - words1);
        var intercept = Math.Max(0, tokens1 - (slope * words1));
        return new TokenCalibration(intercept, slope, "measured");
    }

    /// <summary>The number of words (at least 1) whose prompt comes closest to <paramref name="tokens"/>.</summary>
    public int WordsFor(int tokens) => (int)Math.Max(1, Math.Round((tokens - Intercept) / TokensPerWord));
}
