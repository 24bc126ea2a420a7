using System.Globalization;
using System.Text.Json;
using Enclave.Engine;

namespace Enclave.Api;

/// <summary>
/// Where a request's time went inside a worker: waiting for a slot, prefilling the prompt (to the first token),
/// and decoding the rest. The worker reports it in its metering comment (streams) or the
/// <see cref="Header"/> header (whole responses); the gateway turns it into metrics and trace spans and never
/// relays it to clients.
/// </summary>
public readonly record struct EngineTiming(double QueueMs, double PrefillMs, double DecodeMs)
{
    public const string Header = "x-enclave-engine-timing";

    public static EngineTiming From(GenerationFinished finished) => new(
        finished.QueueWait.TotalMilliseconds,
        finished.TimeToFirstToken.TotalMilliseconds,
        Math.Max(0, (finished.Duration - finished.TimeToFirstToken).TotalMilliseconds));

    /// <summary>The header form: <c>queue_ms=1.2;prefill_ms=3.4;decode_ms=5.6</c>.</summary>
    public string ToHeaderValue() => string.Create(CultureInfo.InvariantCulture, $"queue_ms={QueueMs:0.###};prefill_ms={PrefillMs:0.###};decode_ms={DecodeMs:0.###}");

    /// <summary>Writes the three fields into an open JSON object.</summary>
    public void WriteFields(Utf8JsonWriter w)
    {
        w.WriteNumber("queue_ms", Math.Round(QueueMs, 3));
        w.WriteNumber("prefill_ms", Math.Round(PrefillMs, 3));
        w.WriteNumber("decode_ms", Math.Round(DecodeMs, 3));
    }

    /// <summary>Reads the header form; null when absent or malformed.</summary>
    public static EngineTiming? ParseHeader(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        double? queue = null, prefill = null, decode = null;
        foreach (var part in value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !double.TryParse(part.AsSpan(eq + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) || ms < 0 || !double.IsFinite(ms))
            {
                return null;
            }

            switch (part[..eq])
            {
                case "queue_ms": queue = ms; break;
                case "prefill_ms": prefill = ms; break;
                case "decode_ms": decode = ms; break;
            }
        }

        return queue is { } q && prefill is { } p && decode is { } d ? new EngineTiming(q, p, d) : null;
    }

    /// <summary>Reads the fields from a JSON object (the metering comment); null when any is missing.</summary>
    public static EngineTiming? FromJson(JsonElement root) =>
        root.TryGetProperty("queue_ms", out var q) && q.TryGetDouble(out var qv)
        && root.TryGetProperty("prefill_ms", out var p) && p.TryGetDouble(out var pv)
        && root.TryGetProperty("decode_ms", out var d) && d.TryGetDouble(out var dv)
        && qv >= 0 && pv >= 0 && dv >= 0
            ? new EngineTiming(qv, pv, dv)
            : null;
}
