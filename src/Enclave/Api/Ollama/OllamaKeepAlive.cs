using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Enclave.Api.Ollama;

/// <summary>
/// Ollama's <c>keep_alive</c>: a Go duration string (<c>"5m"</c>, <c>"1h30m"</c>, <c>"-1"</c>, <c>"0"</c>) or a number
/// of seconds. Negative means "keep loaded forever", zero means "unload now". Models here stay loaded while the
/// gateway runs, so the value only decides whether an empty request is a load or an unload call. Stateless.
/// </summary>
internal static class OllamaKeepAlive
{
    private static readonly SearchValues<char> NumberChars = SearchValues.Create("0123456789.");

    /// <summary>Reads <c>keep_alive</c>; null when absent. A malformed value is a 400.</summary>
    public static TimeSpan? Read(JsonElement root)
    {
        if (!root.TryGetProperty("keep_alive", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds) && double.IsFinite(seconds))
        {
            return Seconds(seconds);
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            var text = value.GetString()!;
            if (TryParseDuration(text, out var duration))
            {
                return duration;
            }

            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out seconds) && double.IsFinite(seconds))
            {
                return Seconds(seconds);
            }
        }

        throw OllamaError.BadRequest($"invalid keep_alive: {RequestGuard.Printable(value.GetRawText())} (use a duration such as \"5m\" or a number of seconds)");
    }

    /// <summary>Parses a Go duration: an optional sign and one or more number-unit pairs (ns, us, µs, ms, s, m, h), or "0".</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(text);
        duration = TimeSpan.Zero;
        var s = text.AsSpan();
        var negative = s.Length > 0 && s[0] == '-';
        if (s.Length > 0 && s[0] is '-' or '+')
        {
            s = s[1..];
        }

        if (s is "0")
        {
            return true;
        }

        if (s.IsEmpty)
        {
            return false;
        }

        double totalSeconds = 0;
        while (!s.IsEmpty)
        {
            var numberLength = s.IndexOfAnyExcept(NumberChars);
            if (numberLength <= 0 || !double.TryParse(s[..numberLength], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            s = s[numberLength..];
            var unitLength = s.IndexOfAny(NumberChars);
            var unit = unitLength < 0 ? s : s[..unitLength];
            double? scale = unit switch
            {
                "ns" => 1e-9,
                "us" or "µs" or "μs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                _ => null,
            };
            if (scale is null)
            {
                return false;
            }

            totalSeconds += number * scale.Value;
            s = s[unit.Length..];
        }

        duration = Seconds(negative ? -totalSeconds : totalSeconds);
        return true;
    }

    private static TimeSpan Seconds(double seconds) =>
        Math.Abs(seconds) >= OllamaWire.Forever.TotalSeconds ? (seconds < 0 ? -OllamaWire.Forever : OllamaWire.Forever) : TimeSpan.FromSeconds(seconds);
}
