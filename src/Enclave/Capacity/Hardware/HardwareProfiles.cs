namespace Enclave.Capacity.Hardware;

/// <summary>
/// The built-in hardware table (vendor spec-sheet memory, peak memory bandwidth, dense FP16/BF16 tensor TFLOPS
/// without sparsity, and board power) merged with <c>Capacity:Hardware</c> from configuration. Peak bandwidth is an
/// upper bound: sustained reads reach roughly 70–90% of it on GPUs and less on CPUs, which is why
/// <c>enclave plan</c> calls its decode figure a bound. Thread-safe (immutable).
/// </summary>
public static class HardwareProfiles
{
    private const double GpuReserve = 1.0;
    private const double CpuReserve = 2.0;

    public static IReadOnlyList<HardwareProfile> BuiltIn { get; } =
    [
        Gpu("nvidia-h200", "NVIDIA H200 SXM 141 GB HBM3e", 140, 4800, 989, 700),
        Gpu("nvidia-h100-sxm", "NVIDIA H100 SXM 80 GB HBM3", 80, 3350, 989, 700),
        Gpu("nvidia-h100-pcie", "NVIDIA H100 PCIe 80 GB HBM2e", 80, 2000, 756, 350),
        Gpu("nvidia-a100-80gb", "NVIDIA A100 SXM 80 GB HBM2e", 80, 2039, 312, 400),
        Gpu("nvidia-a100-40gb", "NVIDIA A100 PCIe 40 GB HBM2", 40, 1555, 312, 250),
        Gpu("nvidia-l40s", "NVIDIA L40S 48 GB GDDR6", 48, 864, 362, 350),
        Gpu("nvidia-rtx-6000-ada", "NVIDIA RTX 6000 Ada 48 GB GDDR6", 48, 960, 364, 300),
        Gpu("nvidia-a10", "NVIDIA A10 24 GB GDDR6", 24, 600, 125, 150),
        Gpu("nvidia-l4", "NVIDIA L4 24 GB GDDR6", 24, 300, 121, 72),
        Gpu("nvidia-rtx-4090", "NVIDIA GeForce RTX 4090 24 GB GDDR6X", 24, 1008, 165, 450),
        Gpu("nvidia-rtx-3090", "NVIDIA GeForce RTX 3090 24 GB GDDR6X", 24, 936, 71, 350),
        Gpu("amd-mi300x", "AMD Instinct MI300X 192 GB HBM3", 192, 5300, 1307, 750),
        // macOS lets the GPU wire about three quarters of unified memory by default; the rest stays reserved.
        Cpu("apple-m2-ultra-192gb", "Apple M2 Ultra, 192 GB unified memory", 192, 800, 27, 215, "gpu", 48),
        Cpu("apple-m3-max-128gb", "Apple M3 Max (16-core CPU), 128 GB unified memory", 128, 400, 14, 120, "gpu", 32),
        Cpu("amd-epyc-9654-ddr5", "AMD EPYC 9654, 12 channels DDR5-4800, 384 GB", 384, 460.8, null, 360),
        Cpu("intel-xeon-8480-ddr5", "Intel Xeon Platinum 8480+, 8 channels DDR5-4800, 512 GB", 512, 307.2, null, 350),
        Cpu("desktop-ddr5-dual", "Desktop CPU, 2 channels DDR5-5600, 64 GB", 64, 89.6, null, 125),
        Cpu("desktop-ddr4-dual", "Desktop CPU, 2 channels DDR4-3200, 32 GB", 32, 51.2, null, 65),
    ];

    /// <summary>The built-in profiles with configured ones added (or replacing a built-in of the same name), in table order.</summary>
    public static IReadOnlyList<HardwareProfile> All(CapacityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var profiles = BuiltIn.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        var order = BuiltIn.Select(p => p.Name).ToList();
        foreach (var (name, configured) in options.Hardware)
        {
            if (!profiles.ContainsKey(name))
            {
                order.Add(name);
            }

            profiles[name] = configured.ToProfile(name);
        }

        return order.Select(n => profiles[n]).ToList();
    }

    /// <summary>Finds a profile by name (any case); a usage error lists the names when none matches.</summary>
    public static HardwareProfile Find(string name, CapacityOptions options)
    {
        var all = All(options);
        return all.FirstOrDefault(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            ?? throw new CapacityUsageException($"--hardware '{name}' is not a known profile. Known: {string.Join(", ", all.Select(p => p.Name))}, local (this machine, measured); add others under Capacity:Hardware in enclave.json.");
    }

    private static HardwareProfile Gpu(string name, string description, double memoryGiB, double bandwidthGBps, double tflops, double watts) => new()
    {
        Name = name,
        Kind = "gpu",
        Description = description,
        MemoryGiB = memoryGiB,
        BandwidthGBps = bandwidthGBps,
        Tflops = tflops,
        PowerWatts = watts,
        ReservedGiB = GpuReserve,
    };

    private static HardwareProfile Cpu(string name, string description, double memoryGiB, double bandwidthGBps, double? tflops, double watts, string kind = "cpu", double reserve = CpuReserve) => new()
    {
        Name = name,
        Kind = kind,
        Description = description,
        MemoryGiB = memoryGiB,
        BandwidthGBps = bandwidthGBps,
        Tflops = tflops,
        PowerWatts = watts,
        ReservedGiB = reserve,
    };
}
