using System.Globalization;

namespace Enclave.Capacity.Bench;

/// <summary>
/// A distribution of token counts for synthetic prompts: <c>N</c> (always N), <c>A-B</c> (uniform from A to B) or
/// <c>normal:MEAN:SD</c> (rounded, at least 1). Immutable and thread-safe; sampling uses the caller's
/// <see cref="Random"/>, so a fixed seed gives the same counts.
/// </summary>
public sealed record TokenDistribution
{
    public const int MaxTokens = 1_048_576;

    private TokenDistribution(string text, string kind, double a, double b)
    {
        Text = text;
        Kind = kind;
        A = a;
        B = b;
    }

    /// <summary>The text it was parsed from, normalised.</summary>
    public string Text { get; }

    public string Kind { get; }

    private double A { get; }

    private double B { get; }

    /// <summary>The mean of the distribution.</summary>
    public double Mean => Kind == "uniform" ? (A + B) / 2 : A;

    public static TokenDistribution Fixed(int tokens) => new(tokens.ToString(CultureInfo.InvariantCulture), "fixed", tokens, tokens);

    public static TokenDistribution Parse(string text, string option)
    {
        var t = text.Trim();
        if (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxTokens)
        {
            return new TokenDistribution(t, "fixed", n, n);
        }

        var dash = t.IndexOf('-', StringComparison.Ordinal);
        if (dash > 0
            && int.TryParse(t[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var lo)
            && int.TryParse(t[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var hi)
            && lo >= 1 && hi >= lo && hi <= MaxTokens)
        {
            return new TokenDistribution(t, "uniform", lo, hi);
        }

        var parts = t.Split(':');
        if (parts.Length == 3 && parts[0].Equals("normal", StringComparison.OrdinalIgnoreCase)
            && double.TryParse(parts[1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var mean)
            && double.TryParse(parts[2], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var sd)
            && mean >= 1 && mean <= MaxTokens && sd >= 0 && sd <= MaxTokens)
        {
            return new TokenDistribution(t.ToLowerInvariant(), "normal", mean, sd);
        }

        throw new CapacityUsageException($"{option} '{text}' is not a token count. Use N (fixed), A-B (uniform, e.g. 128-512) or normal:MEAN:SD (e.g. normal:256:64), from 1 to {MaxTokens}.");
    }

    public int Sample(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return Kind switch
        {
            "uniform" => random.Next((int)A, (int)B + 1),
            "normal" => (int)Math.Clamp(Math.Round(A + (B * Gaussian(random))), 1, MaxTokens),
            _ => (int)A,
        };
    }

    // Box-Muller: two uniforms give one standard normal value.
    private static double Gaussian(Random random) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
