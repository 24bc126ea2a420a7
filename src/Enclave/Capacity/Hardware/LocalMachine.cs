using System.Globalization;

namespace Enclave.Capacity.Hardware;

/// <summary>
/// The <c>local</c> hardware profile: this machine's available memory (<c>MemAvailable</c> from /proc/meminfo) and
/// its memory read bandwidth measured by <see cref="BandwidthProbe"/> with the given thread count (use the decode
/// thread count: one llama.cpp thread cannot draw the bandwidth of many).
/// </summary>
public static class LocalMachine
{
    public static HardwareProfile Measure(int threads)
    {
        var available = MemAvailableBytes() ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var bandwidth = BandwidthProbe.Measure(threads);
        return new HardwareProfile
        {
            Name = "local",
            Kind = "cpu",
            Description = string.Create(CultureInfo.InvariantCulture, $"this machine: {Environment.ProcessorCount} cores, {available / (double)(1L << 30):0.0} GiB available, read bandwidth measured with {threads} thread(s)"),
            MemoryGiB = available / (double)(1L << 30),
            BandwidthGBps = Math.Round(bandwidth / 1e9, 2),
            ReservedGiB = 0.5,
            Source = "measured",
        };
    }

    private static long? MemAvailableBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    var kb = line["MemAvailable:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }
}
