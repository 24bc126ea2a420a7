using System.Collections.Concurrent;
using System.Net;

namespace Enclave.Security.Auth;

/// <summary>
/// Slows key guessing: after <see cref="MaxFailuresPerMinute"/> authentication failures from one address within a
/// minute, further requests from it that fail to authenticate get 429 until the minute passes. Uses the
/// monotonic clock. Thread-safe.
/// </summary>
public sealed class AuthFailureLimiter(TimeProvider time)
{
    public const int MaxFailuresPerMinute = 100;

    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);

    /// <summary>Records one failure; returns how long the address must wait, or null while it is under the limit.</summary>
    public TimeSpan? RecordFailure(IPAddress? address)
    {
        var counter = _counters.GetOrAdd(address?.ToString() ?? "unknown", _ => new Counter());
        lock (counter)
        {
            var now = time.GetTimestamp();
            if (counter.Count == 0 || time.GetElapsedTime(counter.WindowStart, now) >= Window)
            {
                counter.WindowStart = now;
                counter.Count = 0;
            }

            counter.Count++;
            return counter.Count > MaxFailuresPerMinute ? Window - time.GetElapsedTime(counter.WindowStart, now) : null;
        }
    }

    private sealed class Counter
    {
        public long WindowStart { get; set; }

        public int Count { get; set; }
    }
}
