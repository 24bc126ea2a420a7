using System.Globalization;

namespace Enclave.Cli;

/// <summary>
/// Parses durations such as <c>30s</c>, <c>15m</c>, <c>12h</c>, <c>7d</c>, <c>2w</c> and combinations in descending
/// order (<c>1d12h</c>, <c>1h30m</c>). Each unit at most once, no spaces, no signs, result greater than zero and at
/// most 100 years. Thread-safe (stateless).
/// </summary>
internal static class DurationParser
{
    private const long LongestSeconds = 36_500L * 86_400;
    private const string Units = "wdhms";
    private static readonly long[] UnitSeconds = [604_800, 86_400, 3_600, 60, 1];

    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        long totalSeconds = 0;
        var lastUnit = -1;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            if (i == start || i == text.Length || i - start > 9)
            {
                return false;
            }

            var unit = Units.IndexOf(text[i], StringComparison.Ordinal);
            // Units must appear once each, largest first: "1d12h" yes, "12h1d" and "1h1h" no.
            if (unit < 0 || unit <= lastUnit)
            {
                return false;
            }

            // At most 9 digits times a week in seconds: no overflow.
            totalSeconds += long.Parse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture) * UnitSeconds[unit];
            if (totalSeconds > LongestSeconds)
            {
                return false;
            }

            lastUnit = unit;
            i++;
        }

        if (totalSeconds <= 0)
        {
            return false;
        }

        duration = TimeSpan.FromSeconds(totalSeconds);
        return true;
    }

    /// <summary>Like <see cref="TryParse"/>, throwing <see cref="FormatException"/> that names the option and shows examples.</summary>
    public static TimeSpan Parse(string text, string option) =>
        TryParse(text, out var duration)
            ? duration
            : throw new FormatException($"{option} '{text}' is not a duration. Use a number and a unit (s, m, h, d, w), largest first: 30s, 15m, 12h, 7d, 1d12h.");

    /// <summary>Compact text for a duration: <c>1d12h</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return "0s";
        }

        var parts = new List<string>();
        if (duration.Days > 0)
        {
            parts.Add($"{duration.Days}d");
        }

        if (duration.Hours > 0)
        {
            parts.Add($"{duration.Hours}h");
        }

        if (duration.Minutes > 0)
        {
            parts.Add($"{duration.Minutes}m");
        }

        if (duration.Seconds > 0)
        {
            parts.Add($"{duration.Seconds}s");
        }

        return parts.Count == 0 ? "0s" : string.Concat(parts);
    }
}
