using System.Globalization;

namespace Enclave.Capacity.Cost;

/// <summary>A cloud API's list price per million input and output tokens. Immutable.</summary>
public sealed record CloudPrice(string Name, double InputPerMillion, double OutputPerMillion)
{
    /// <summary>
    /// Used when <c>Capacity:Cost:Cloud</c> is not configured: OpenAI list prices per million tokens as published in
    /// 2025. Prices change; configure current ones for decisions.
    /// </summary>
    public static IReadOnlyList<CloudPrice> Defaults { get; } =
    [
        new("gpt-4.1-nano", 0.10, 0.40),
        new("gpt-4o-mini", 0.15, 0.60),
        new("gpt-4.1-mini", 0.40, 1.60),
        new("gpt-4.1", 2.00, 8.00),
        new("gpt-4o", 2.50, 10.00),
    ];

    /// <summary>The configured prices, or <see cref="Defaults"/> when none are configured.</summary>
    public static IReadOnlyList<CloudPrice> From(CostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Cloud.Count == 0
            ? Defaults
            : options.Cloud.Select(c => new CloudPrice(c.Key, c.Value.InputPerMillion, c.Value.OutputPerMillion)).ToList();
    }

    /// <summary>Parses <c>NAME=IN/OUT</c> (prices per million tokens), e.g. <c>my-api=0.5/1.5</c>.</summary>
    public static CloudPrice Parse(string text, string option)
    {
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (eq > 0 && slash > eq
            && double.TryParse(text[(eq + 1)..slash], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var input)
            && double.TryParse(text[(slash + 1)..], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var output)
            && input + output > 0)
        {
            return new CloudPrice(text[..eq].Trim(), input, output);
        }

        throw new CapacityUsageException($"{option} '{text}' is neither a configured cloud model nor NAME=IN/OUT (prices per million tokens). Example: {option} my-api=0.5/1.5");
    }
}
