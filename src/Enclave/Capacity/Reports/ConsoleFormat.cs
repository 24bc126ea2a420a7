using System.Globalization;

namespace Enclave.Capacity.Reports;

/// <summary>Number formatting for the capacity tables: invariant culture, few digits. Thread-safe (stateless).</summary>
internal static class ConsoleFormat
{
    /// <summary>Width for tables when stdout is not a terminal (a file or a pipe has no width to wrap at).</summary>
    private const int RedirectedWidth = 160;

    /// <summary>
    /// When stdout is redirected, lay tables out at <c>$COLUMNS</c> (else 160) instead of Spectre's 80, so a
    /// saved report keeps one row per line.
    /// </summary>
    public static void UseRedirectedWidth()
    {
        if (Console.IsOutputRedirected)
        {
            Spectre.Console.AnsiConsole.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), NumberStyles.None, CultureInfo.InvariantCulture, out var columns) && columns is >= 40 and <= 1000
                ? columns
                : RedirectedWidth;
        }
    }

    public static string Ms(double value) => value switch
    {
        >= 10_000 => (value / 1000).ToString("0.0", CultureInfo.InvariantCulture) + "s",
        >= 100 => value.ToString("0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.00", CultureInfo.InvariantCulture),
    };

    /// <summary>A time with its unit: <c>850 ms</c>, <c>17.9 s</c>.</summary>
    public static string Duration(double ms) => ms >= 10_000
        ? (ms / 1000).ToString("0.0", CultureInfo.InvariantCulture) + " s"
        : Ms(ms) + " ms";

    public static string Rate(double value) => value switch
    {
        >= 1000 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 100 => value.ToString("0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.00", CultureInfo.InvariantCulture),
    };

    public static string Int(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Percent(double fraction) => (fraction * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    public static string Money(double value) => value switch
    {
        >= 100 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 1 => value.ToString("N2", CultureInfo.InvariantCulture),
        _ => value.ToString("0.####", CultureInfo.InvariantCulture),
    };

    public static string Bytes(double bytes) => bytes switch
    {
        >= 1L << 40 => (bytes / (1L << 40)).ToString("0.##", CultureInfo.InvariantCulture) + " TiB",
        >= 1L << 30 => (bytes / (1L << 30)).ToString("0.##", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (1L << 10)).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString("0", CultureInfo.InvariantCulture) + " B",
    };
}
