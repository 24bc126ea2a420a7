using System.Globalization;

namespace Enclave.Capacity;

/// <summary>
/// Parses the values of the capacity commands' options. Every failure is a <see cref="CapacityUsageException"/>
/// whose message names the option, echoes the text and shows an accepted example. Thread-safe (stateless).
/// </summary>
public static class CapacityParse
{
    private const int MaxListItems = 64;

    /// <summary>A comma-separated list of whole numbers from 1 to <paramref name="max"/>: <c>1,2,4,8</c>.</summary>
    public static IReadOnlyList<int> IntList(string text, string option, int max)
    {
        var items = Split(text, option, "1,2,4,8");
        var values = new List<int>(items.Length);
        foreach (var item in items)
        {
            if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1 || value > max)
            {
                throw new CapacityUsageException($"{option} '{text}': '{item}' is not a whole number from 1 to {max}. Example: {option} 1,2,4,8");
            }

            values.Add(value);
        }

        return values;
    }

    /// <summary>A comma-separated list of positive numbers: <c>0.5,1,2</c>; <paramref name="words"/> are accepted as they are.</summary>
    public static IReadOnlyList<string> RateList(string text, string option, params string[] words)
    {
        var items = Split(text, option, "0.5,1,2,4");
        foreach (var item in items)
        {
            if (words.Contains(item, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!double.TryParse(item, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0 || value > 1_000_000)
            {
                var also = words.Length == 0 ? "" : $" or {string.Join(", ", words)}";
                throw new CapacityUsageException($"{option} '{text}': '{item}' is not a positive number of requests per second{also}. Example: {option} 0.5,1,2,4");
            }
        }

        return items;
    }

    /// <summary>A time with a unit: <c>250ms</c>, <c>1.5s</c>, <c>2m</c>, <c>1h</c>.</summary>
    public static TimeSpan Latency(string text, string option)
    {
        var (number, unit) = SplitUnit(text);
        var scale = unit switch
        {
            "us" => 0.001,
            "ms" => 1.0,
            "s" => 1000.0,
            "m" or "min" => 60_000.0,
            "h" => 3_600_000.0,
            _ => double.NaN,
        };
        if (double.IsNaN(scale) || !double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0)
        {
            throw new CapacityUsageException($"{option} '{text}' is not a time. Use a number and a unit (us, ms, s, m, h): 250ms, 1.5s, 2m.");
        }

        var ms = value * scale;
        return ms > TimeSpan.FromDays(365).TotalMilliseconds
            ? throw new CapacityUsageException($"{option} '{text}' is longer than a year.")
            : TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>An amount of memory: <c>24GiB</c>, <c>80GB</c>, <c>512MiB</c>, or plain bytes.</summary>
    public static long Bytes(string text, string option)
    {
        var (number, unit) = SplitUnit(text);
        var scale = unit.ToUpperInvariant() switch
        {
            "" or "B" => 1.0,
            "KB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "TB" => 1e12,
            "KIB" => 1024.0,
            "MIB" => 1024.0 * 1024,
            "GIB" => 1024.0 * 1024 * 1024,
            "TIB" => 1024.0 * 1024 * 1024 * 1024,
            _ => double.NaN,
        };
        if (double.IsNaN(scale) || !double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0 || value * scale > 1e16)
        {
            throw new CapacityUsageException($"{option} '{text}' is not an amount of memory. Examples: 24GiB, 80GB, 512MiB.");
        }

        return (long)(value * scale);
    }

    /// <summary>Memory bandwidth in bytes per second: <c>22GB/s</c>, <c>3.35TB/s</c>, or a plain number of GB/s.</summary>
    public static double Bandwidth(string text, string option)
    {
        var trimmed = text.Trim();
        if (trimmed.EndsWith("/s", StringComparison.OrdinalIgnoreCase))
        {
            trimmed = trimmed[..^2];
        }

        if (double.TryParse(trimmed, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var gb) && gb > 0)
        {
            return gb * 1e9;
        }

        try
        {
            return Bytes(trimmed, option);
        }
        catch (CapacityUsageException)
        {
            throw new CapacityUsageException($"{option} '{text}' is not a bandwidth. Examples: 22GB/s, 3.35TB/s, or 22 (GB/s).");
        }
    }

    /// <summary>A positive number (a price, a wattage, a rate): <c>2500</c>, <c>0.15</c>.</summary>
    public static double Positive(string text, string option, string example, bool allowZero = false)
    {
        var cleaned = text.Trim().TrimStart('$');
        foreach (var suffix in new[] { "W", "w", "%" })
        {
            if (cleaned.EndsWith(suffix, StringComparison.Ordinal))
            {
                cleaned = cleaned[..^1];
            }
        }

        if (!double.TryParse(cleaned, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value < 0 || (!allowZero && value == 0) || double.IsInfinity(value))
        {
            throw new CapacityUsageException($"{option} '{text}' is not a {(allowZero ? "non-negative" : "positive")} number. Example: {option} {example}");
        }

        return text.Trim().EndsWith('%') ? value / 100 : value;
    }

    /// <summary>A fraction in (0, 1]: <c>0.6</c> or <c>60%</c>.</summary>
    public static double Fraction(string text, string option)
    {
        var value = Positive(text, option, "0.6");
        return value is > 0 and <= 1
            ? value
            : throw new CapacityUsageException($"{option} '{text}' must be above 0 and at most 1 (or 100%). Example: {option} 0.6");
    }

    /// <summary>An existing readable file; otherwise a usage error naming the option.</summary>
    public static string ExistingFile(string path, string option)
    {
        if (Directory.Exists(path))
        {
            throw new CapacityUsageException($"{option} '{path}' is a directory, not a file.");
        }

        return File.Exists(path)
            ? Path.GetFullPath(path)
            : throw new CapacityUsageException($"{option} '{path}' does not exist.");
    }

    private static string[] Split(string text, string option, string example)
    {
        var items = text.Split(',', StringSplitOptions.TrimEntries);
        if (string.IsNullOrWhiteSpace(text) || items.Any(i => i.Length == 0))
        {
            throw new CapacityUsageException($"{option} '{text}' is not a comma-separated list. Example: {option} {example}");
        }

        return items.Length > MaxListItems
            ? throw new CapacityUsageException($"{option} has {items.Length} values; at most {MaxListItems} are allowed.")
            : items;
    }

    private static (string Number, string Unit) SplitUnit(string text)
    {
        var trimmed = text.Trim();
        var i = 0;
        while (i < trimmed.Length && (char.IsAsciiDigit(trimmed[i]) || trimmed[i] == '.'))
        {
            i++;
        }

        return (trimmed[..i], trimmed[i..].Trim());
    }
}
