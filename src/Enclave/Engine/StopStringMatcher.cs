namespace Enclave.Engine;

/// <summary>
/// Finds stop strings in streamed text. Text that could be the start of a stop string is held back until it is
/// known not to be one, so a client never sees any part of a stop string. Not thread-safe.
/// </summary>
public sealed class StopStringMatcher
{
    private readonly string[] _stops;
    private string _pending = "";

    public StopStringMatcher(IReadOnlyList<string> stops)
    {
        _stops = stops.Where(s => s.Length > 0).ToArray();
    }

    /// <summary>True once a stop string was seen; later text is ignored.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds text; returns the part that is safe to emit now (may be empty).</summary>
    public string Push(string text)
    {
        if (Stopped)
        {
            return "";
        }

        if (_stops.Length == 0)
        {
            return text;
        }

        _pending += text;
        var first = -1;
        foreach (var stop in _stops)
        {
            var at = _pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
            }
        }

        if (first >= 0)
        {
            Stopped = true;
            var emit = _pending[..first];
            _pending = "";
            return emit;
        }

        var hold = 0;
        foreach (var stop in _stops)
        {
            for (var len = Math.Min(stop.Length - 1, _pending.Length); len > hold; len--)
            {
                if (_pending.AsSpan(_pending.Length - len).SequenceEqual(stop.AsSpan(0, len)))
                {
                    hold = len;
                    break;
                }
            }
        }

        var ready = _pending[..^hold];
        _pending = _pending[^hold..];
        return ready;
    }

    /// <summary>Releases held-back text at the end of a stream that did not stop on a stop string.</summary>
    public string Flush()
    {
        var rest = Stopped ? "" : _pending;
        _pending = "";
        return rest;
    }
}
