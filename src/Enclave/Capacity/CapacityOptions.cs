namespace Enclave.Capacity;

/// <summary>
/// The <c>Capacity</c> section of enclave.json: extra hardware profiles for <c>enclave plan</c> and the cost model
/// of <c>enclave cost</c>. Every setting has a built-in default; <see cref="CapacityConfiguration"/> binds and checks
/// it. Not thread-safe while being bound; read-only afterwards.
/// </summary>
public sealed class CapacityOptions
{
    /// <summary><c>Capacity:Hardware:NAME</c>: profiles added to (or replacing) the built-in table.</summary>
    public Dictionary<string, HardwareProfileOptions> Hardware { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary><c>Capacity:Cost</c>.</summary>
    public CostOptions Cost { get; set; } = new();
}

/// <summary><c>Capacity:Hardware:NAME</c>: one hardware profile.</summary>
public sealed class HardwareProfileOptions
{
    /// <summary><c>gpu</c> or <c>cpu</c>.</summary>
    public string Kind { get; set; } = "gpu";

    public string Description { get; set; } = "";

    public double MemoryGiB { get; set; }

    public double? BandwidthGBps { get; set; }

    public double? Tflops { get; set; }

    public double? PowerWatts { get; set; }

    /// <summary>Memory kept back for the runtime or OS; default 1 GiB for a GPU, 2 GiB for a CPU.</summary>
    public double? ReservedGiB { get; set; }

    public double? PriceUsd { get; set; }

    internal Hardware.HardwareProfile ToProfile(string name) => new()
    {
        Name = name,
        Kind = Kind,
        Description = Description.Length > 0 ? Description : name,
        MemoryGiB = MemoryGiB,
        BandwidthGBps = BandwidthGBps,
        Tflops = Tflops,
        PowerWatts = PowerWatts,
        ReservedGiB = ReservedGiB ?? (Kind == "cpu" ? 2 : 1),
        PriceUsd = PriceUsd,
        Source = "configuration",
    };
}

/// <summary>
/// <c>Capacity:Cost</c>: what local serving costs. Money is in one currency throughout (named USD; any currency
/// works if every price uses it).
/// </summary>
public sealed class CostOptions
{
    /// <summary>Hardware profile whose price and power apply when no price or power is set here.</summary>
    public string? Hardware { get; set; }

    /// <summary>Purchase price of the server (all of it: GPUs, chassis, networking share).</summary>
    public double? PriceUsd { get; set; }

    /// <summary>Months over which the purchase is written off.</summary>
    public double AmortizationMonths { get; set; } = 36;

    /// <summary>Power draw of the whole server under load, in watts.</summary>
    public double? PowerWatts { get; set; }

    /// <summary>Power draw when idle; default: the same as under load (a conservative figure).</summary>
    public double? IdlePowerWatts { get; set; }

    /// <summary>Energy price per kWh.</summary>
    public double EnergyPricePerKwh { get; set; } = 0.15;

    /// <summary>Data-centre overhead on energy (power usage effectiveness); 1 means none.</summary>
    public double Pue { get; set; } = 1.0;

    /// <summary>Share of the time the server is busy at its measured throughput (0–1].</summary>
    public double Utilization { get; set; } = 0.5;

    /// <summary>Other fixed costs per month: hosting, support, a share of staff time.</summary>
    public double OtherMonthlyUsd { get; set; }

    /// <summary>
    /// Weight of a prompt token against a completion token in chargeback; null means "measure it from the bench
    /// result" (prefill time per token ÷ decode time per token), else 1.
    /// </summary>
    public double? InputTokenWeight { get; set; }

    /// <summary><c>Capacity:Cost:Cloud:NAME</c>: cloud API prices per million tokens. Replaces the built-in list when set.</summary>
    public Dictionary<string, CloudPriceOptions> Cloud { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary><c>Capacity:Cost:Cloud:NAME</c>: a cloud API's list price per million tokens.</summary>
public sealed class CloudPriceOptions
{
    public double InputPerMillion { get; set; }

    public double OutputPerMillion { get; set; }
}
