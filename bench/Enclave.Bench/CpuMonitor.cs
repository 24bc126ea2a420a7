using System.Diagnostics;
using System.Globalization;

namespace Enclave.Bench;

/// <summary>
/// Measures, over a phase, how many cores the whole machine was busy (from /proc/stat) and how many of them this
/// benchmark's own process tree used (this process, the gateway and its worker, from /proc/PID/stat). The
/// difference is load from other processes: on a small shared machine it, not the gateway, is often why a figure
/// drops. Linux only; elsewhere it reports nothing.
/// </summary>
internal sealed class CpuMonitor
{
    private const double TicksPerSecond = 100; // USER_HZ; Linux fixes it at 100 for /proc on every common architecture.

    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly long _machineStart = MachineBusyTicks();
    private readonly long _ownStart = OwnTreeTicks();

    /// <summary>Average cores in use since construction: (machine, this benchmark's process tree, everything else); null off Linux.</summary>
    public CpuLoad? Stop()
    {
        var seconds = Stopwatch.GetElapsedTime(_start).TotalSeconds;
        var machine = MachineBusyTicks();
        var own = OwnTreeTicks();
        if (machine < 0 || _machineStart < 0 || seconds <= 0)
        {
            return null;
        }

        var machineCores = (machine - _machineStart) / TicksPerSecond / seconds;
        var ownCores = (own - _ownStart) / TicksPerSecond / seconds;
        return new CpuLoad(machineCores, ownCores, Math.Max(0, machineCores - ownCores));
    }

    private static long MachineBusyTicks()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").First();
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // cpu user nice system idle iowait irq softirq steal ...
            long Field(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
            return Field(1) + Field(2) + Field(3) + Field(6) + Field(7);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return -1;
        }
    }

    /// <summary>utime + stime of this process and all its descendants that are alive now.</summary>
    private static long OwnTreeTicks()
    {
        var parents = new Dictionary<int, (int Parent, long Ticks)>();
        string[] dirs;
        try
        {
            dirs = Directory.GetDirectories("/proc");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        foreach (var dir in dirs)
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // The command name is in parentheses and may hold spaces; fields after it are space separated.
                var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ppid = int.Parse(rest[1], CultureInfo.InvariantCulture);
                var ticks = long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture);
                parents[pid] = (ppid, ticks);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // The process ended while we looked.
            }
        }

        var self = Environment.ProcessId;
        long total = 0;
        foreach (var (pid, entry) in parents)
        {
            // Walk up to see whether the process descends from this one (bounded: process trees are shallow).
            var p = pid;
            for (var depth = 0; depth < 64 && p > 1; depth++)
            {
                if (p == self)
                {
                    total += entry.Ticks;
                    break;
                }

                p = parents.TryGetValue(p, out var up) ? up.Parent : 0;
            }
        }

        return total;
    }
}

/// <summary>Average busy cores over a phase.</summary>
internal sealed record CpuLoad(double Machine, double Own, double Others);
