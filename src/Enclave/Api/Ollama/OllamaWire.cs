using System.Diagnostics;
using System.Globalization;

namespace Enclave.Api.Ollama;

/// <summary>Ollama's wire conventions: RFC 3339 times, nanosecond durations, <c>name:tag</c> model names. Stateless.</summary>
internal static class OllamaWire
{
    /// <summary>
    /// The Ollama API release whose request and response shapes this surface follows, reported by
    /// <c>/api/version</c>: clients compare it to decide which endpoints and fields they may use.
    /// </summary>
    public const string ApiVersion = "0.6.0";

    public const string DefaultTag = ":latest";

    public const string NdjsonContentType = "application/x-ndjson";

    public const string JsonContentType = "application/json; charset=utf-8";

    /// <summary>Go's longest duration (2^63-1 ns): how Ollama reports a model that never unloads.</summary>
    public static TimeSpan Forever { get; } = TimeSpan.FromTicks(long.MaxValue / 100);

    /// <summary>An RFC 3339 UTC time with up to seven fractional digits, as Ollama's <c>created_at</c> and <c>modified_at</c>.</summary>
    public static string Rfc3339(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>Nanoseconds between two <see cref="Stopwatch"/> timestamps (0 when <paramref name="to"/> is earlier).</summary>
    public static long Nanoseconds(long from, long to) =>
        to <= from ? 0 : (long)((to - from) * (1_000_000_000.0 / Stopwatch.Frequency));

    /// <summary>The name a configured model is listed under: <c>NAME:latest</c> unless it carries a tag already.</summary>
    public static string ListedName(string configured) =>
        configured.Contains(':', StringComparison.Ordinal) ? configured : configured + DefaultTag;

    /// <summary>
    /// The configured model a client's name refers to: the name itself when it exists, else the name without
    /// <c>:latest</c> when that exists (Ollama clients add the default tag), else the name unchanged.
    /// </summary>
    public static string Resolve(string requested, Func<string, bool> exists)
    {
        ArgumentNullException.ThrowIfNull(requested);
        ArgumentNullException.ThrowIfNull(exists);
        if (!exists(requested) && requested.EndsWith(DefaultTag, StringComparison.Ordinal))
        {
            var bare = requested[..^DefaultTag.Length];
            if (bare.Length > 0 && exists(bare))
            {
                return bare;
            }
        }

        return requested;
    }

    /// <summary>
    /// A parameter count as Ollama prints it (<c>parameter_size</c>): <c>8.0B</c> style above a billion, <c>137M</c> or
    /// <c>22.57M</c> above a million, <c>292K</c> above a thousand, the plain number below.
    /// </summary>
    public static string ParameterSize(long count)
    {
        var n = (double)count;
        return count switch
        {
            >= 1_000_000_000 => Whole(n / 1e9) ? Format("{0:0}B", n / 1e9) : Format("{0:0.0}B", n / 1e9),
            >= 1_000_000 => Whole(n / 1e6) ? Format("{0:0}M", n / 1e6) : Format("{0:0.00}M", n / 1e6),
            >= 1_000 => Format("{0:0}K", n / 1e3),
            _ => count.ToString(CultureInfo.InvariantCulture),
        };

        static bool Whole(double value) => value == Math.Floor(value);

        static string Format(string format, double value) => string.Format(CultureInfo.InvariantCulture, format, value);
    }
}
