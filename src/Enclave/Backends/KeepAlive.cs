using System.Globalization;

namespace Enclave.Backends;

/// <summary>
/// How long an idle local model stays loaded after its last request, as Ollama's <c>keep_alive</c>: a duration
/// (<c>"5m"</c>, <c>"30s"</c>, <c>"1h30m"</c>, <c>"250ms"</c>) or a number of seconds; <c>"0"</c> unloads it as soon as
/// it is idle; a negative value, <c>"forever"</c> or <c>"never"</c> keeps it loaded. Immutable.
/// </summary>
public readonly record struct KeepAlive
{
    private KeepAlive(TimeSpan? duration) => Duration = duration;

    /// <summary>Keep the model loaded until the gateway stops (or the memory budget needs room).</summary>
    public static KeepAlive Forever { get; } = new(null);

    /// <summary>Unload as soon as the last request ends.</summary>
    public static KeepAlive Zero { get; } = new(TimeSpan.Zero);

    /// <summary>The idle time before unloading; null means forever.</summary>
    public TimeSpan? Duration { get; }

    public bool IsForever => Duration is null;

    /// <summary>A keep-alive from a duration: negative means forever (Ollama's convention).</summary>
    public static KeepAlive From(TimeSpan duration) => duration < TimeSpan.Zero ? Forever : new KeepAlive(duration);

    public static KeepAlive Parse(string text) =>
        TryParse(text, out var value) ? value : throw new FormatException($"'{text}' is not a keep-alive. Use a duration such as 5m, 30s or 1h30m, 0 (unload when idle) or -1 (never).");

    public static bool TryParse(string? text, out KeepAlive value)
    {
        value = default;
        var s = text?.Trim() ?? "";
        if (s.Length == 0)
        {
            return false;
        }

        if (s.Equals("forever", StringComparison.OrdinalIgnoreCase) || s.Equals("never", StringComparison.OrdinalIgnoreCase))
        {
            value = Forever;
            return true;
        }

        var negative = s[0] == '-';
        var body = negative ? s[1..] : s;
        if (double.TryParse(body, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var plainSeconds))
        {
            return TryFromSeconds(negative, plainSeconds, out value);
        }

        double seconds = 0;
        var i = 0;
        while (i < body.Length)
        {
            var start = i;
            while (i < body.Length && (char.IsAsciiDigit(body[i]) || body[i] == '.'))
            {
                i++;
            }

            if (i == start || !double.TryParse(body.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            var unitStart = i;
            while (i < body.Length && char.IsAsciiLetterLower(body[i]))
            {
                i++;
            }

            double? scale = body[unitStart..i] switch
            {
                "ms" => 0.001,
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86_400,
                _ => null,
            };
            if (scale is null)
            {
                return false;
            }

            seconds += number * scale.Value;
        }

        return TryFromSeconds(negative, seconds, out value);
    }

    private static bool TryFromSeconds(bool negative, double seconds, out KeepAlive value)
    {
        value = default;
        if (!double.IsFinite(seconds))
        {
            return false;
        }

        // Longer than a century is forever in practice, and TimeSpan arithmetic stays far from overflow.
        value = negative && seconds > 0 ? Forever
            : seconds > 100 * 365.25 * 86_400 ? Forever
            : new KeepAlive(TimeSpan.FromSeconds(seconds));
        return true;
    }

    /// <summary>The setting's text: <c>forever</c>, <c>0</c>, or whole seconds, minutes or hours where exact.</summary>
    public override string ToString()
    {
        if (Duration is not { } d)
        {
            return "forever";
        }

        return d == TimeSpan.Zero ? "0"
            : d.Ticks % TimeSpan.TicksPerHour == 0 ? string.Create(CultureInfo.InvariantCulture, $"{(long)d.TotalHours}h")
            : d.Ticks % TimeSpan.TicksPerMinute == 0 ? string.Create(CultureInfo.InvariantCulture, $"{(long)d.TotalMinutes}m")
            : d.Ticks % TimeSpan.TicksPerSecond == 0 ? string.Create(CultureInfo.InvariantCulture, $"{(long)d.TotalSeconds}s")
            : string.Create(CultureInfo.InvariantCulture, $"{(long)d.TotalMilliseconds}ms");
    }
}
