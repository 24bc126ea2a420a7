using System.Diagnostics;

namespace Enclave.Tests.Infrastructure;

/// <summary>A point in monotonic time for poll-until loops.</summary>
public readonly record struct Deadline(long Timestamp)
{
    public static Deadline In(TimeSpan timeout) => new(Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency));

    public bool Passed => Stopwatch.GetTimestamp() >= Timestamp;
}
