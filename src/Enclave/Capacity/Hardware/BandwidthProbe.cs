using System.Diagnostics;

namespace Enclave.Capacity.Hardware;

/// <summary>
/// Measures this machine's sustained memory read bandwidth the way decode uses memory: streaming sequential reads
/// of a buffer far larger than the CPU caches, split across <c>threads</c>, best of several passes. The figure feeds
/// the <c>local</c> hardware profile. Not for concurrent use (it saturates the memory bus).
/// </summary>
public static class BandwidthProbe
{
    /// <summary>Buffer read per pass: far beyond any last-level cache.</summary>
    public const long DefaultBytes = 512L << 20;

    /// <summary>Returns bytes per second; runs for about <paramref name="passes"/> × (buffer ÷ bandwidth).</summary>
    public static double Measure(int threads, long bytes = DefaultBytes, int passes = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1L << 20);
        var slice = bytes / threads / sizeof(long);
        var buffers = Enumerable.Range(0, threads).Select(_ => GC.AllocateUninitializedArray<long>((int)slice, pinned: true)).ToArray();
        foreach (var buffer in buffers)
        {
            // Touch every page first so the passes measure reads, not page faults.
            Array.Fill(buffer, 1L);
        }

        var best = 0.0;
        long sink = 0;
        for (var pass = 0; pass < passes; pass++)
        {
            using var ready = new Barrier(threads + 1);
            var sums = new long[threads];
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                ready.SignalAndWait();
                sums[t] = Sum(buffers[t]);
                ready.SignalAndWait();
            }) { IsBackground = true }).ToArray();
            foreach (var worker in workers)
            {
                worker.Start();
            }

            ready.SignalAndWait();
            var start = Stopwatch.GetTimestamp();
            ready.SignalAndWait();
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            foreach (var worker in workers)
            {
                worker.Join();
            }

            sink += sums.Sum();
            best = Math.Max(best, threads * slice * sizeof(long) / seconds);
        }

        GC.KeepAlive(sink);
        return best;
    }

    // A vectorised scan in the runtime's own (always optimised) code, so the figure does not depend on how this
    // assembly was compiled; every element is 1, so the scan reads the whole buffer and finds nothing.
    private static long Sum(long[] buffer) => buffer.AsSpan().IndexOfAnyExcept(1L);
}
