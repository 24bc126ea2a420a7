namespace Enclave.Capacity.Hardware;

/// <summary>
/// A machine that could serve a model: its memory for weights and KV cache, the memory bandwidth decode is bound
/// by, optionally its dense FP16/BF16 compute, power draw and price. Built-in profiles hold spec-sheet values;
/// <c>Capacity:Hardware:NAME</c> in enclave.json adds or overrides profiles. Immutable.
/// </summary>
public sealed record HardwareProfile
{
    public required string Name { get; init; }

    /// <summary><c>gpu</c> or <c>cpu</c>.</summary>
    public required string Kind { get; init; }

    public string Description { get; init; } = "";

    /// <summary>Memory the model can use (GPU memory, or system RAM for CPU inference), in GiB.</summary>
    public required double MemoryGiB { get; init; }

    /// <summary>Sustained memory read bandwidth in GB/s (10^9 bytes); null when unknown.</summary>
    public double? BandwidthGBps { get; init; }

    /// <summary>Dense FP16/BF16 tensor throughput in TFLOPS; null when unknown.</summary>
    public double? Tflops { get; init; }

    /// <summary>Board or socket power at load in watts; null when unknown.</summary>
    public double? PowerWatts { get; init; }

    /// <summary>Memory kept back for the runtime (CUDA context, driver) or the operating system, in GiB.</summary>
    public double ReservedGiB { get; init; }

    /// <summary>Purchase price of one unit in the configured currency; built-in profiles have none.</summary>
    public double? PriceUsd { get; init; }

    /// <summary>Where the figures come from: <c>spec sheet</c>, <c>configuration</c>, <c>measured</c> or <c>command line</c>.</summary>
    public string Source { get; init; } = "spec sheet";

    public long MemoryBytes => (long)(MemoryGiB * (1L << 30));

    public long ReservedBytes => (long)(ReservedGiB * (1L << 30));
}
