using Enclave.Hosting;

namespace Enclave.Capacity;

/// <summary>
/// Loads <see cref="CapacityOptions"/> from the same configuration as <c>enclave serve</c> (enclave.json from
/// <c>--config</c> or the config directory, overlaid by <c>ENCLAVE__Capacity__...</c> variables) and checks every
/// value, failing with a <see cref="ConfigurationException"/> that names the setting and the fix. Thread-safe.
/// </summary>
public static class CapacityConfiguration
{
    public static CapacityOptions Load(string? configFile)
    {
        var configuration = EnclaveConfiguration.Build(configFile, null, [], null);
        var options = new CapacityOptions();
        try
        {
            configuration.GetSection("Capacity").Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException($"Capacity: {ex.Message} Fix the value in enclave.json.", ex);
        }

        Validate(options);
        return options;
    }

    public static void Validate(CapacityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var (name, h) in options.Hardware)
        {
            var at = $"Capacity:Hardware:{name}";
            Check(h.Kind is "gpu" or "cpu", $"{at}:Kind must be gpu or cpu.");
            Check(h.MemoryGiB is > 0 and <= 1_000_000, $"{at}:MemoryGiB must be above 0 (memory the model can use, in GiB).");
            Check(h.BandwidthGBps is null or (> 0 and <= 1_000_000), $"{at}:BandwidthGBps must be above 0 (GB/s).");
            Check(h.Tflops is null or (> 0 and <= 1_000_000), $"{at}:Tflops must be above 0.");
            Check(h.PowerWatts is null or (> 0 and <= 1_000_000), $"{at}:PowerWatts must be above 0.");
            Check(h.ReservedGiB is null or (>= 0 and < 1_000_000) && (h.ReservedGiB ?? 0) < h.MemoryGiB, $"{at}:ReservedGiB must be at least 0 and below MemoryGiB.");
            Check(h.PriceUsd is null or (>= 0 and < 1e12), $"{at}:PriceUsd must be at least 0.");
        }

        var c = options.Cost;
        Check(c.PriceUsd is null or (>= 0 and < 1e12), "Capacity:Cost:PriceUsd must be at least 0.");
        Check(c.AmortizationMonths is > 0 and <= 600, "Capacity:Cost:AmortizationMonths must be above 0 and at most 600.");
        Check(c.PowerWatts is null or (>= 0 and <= 1e7), "Capacity:Cost:PowerWatts must be at least 0.");
        Check(c.IdlePowerWatts is null or (>= 0 and <= 1e7), "Capacity:Cost:IdlePowerWatts must be at least 0.");
        Check(c.EnergyPricePerKwh is >= 0 and < 1000, "Capacity:Cost:EnergyPricePerKwh must be at least 0.");
        Check(c.Pue is >= 1 and <= 5, "Capacity:Cost:Pue must be from 1 to 5.");
        Check(c.Utilization is > 0 and <= 1, "Capacity:Cost:Utilization must be above 0 and at most 1.");
        Check(c.OtherMonthlyUsd is >= 0 and < 1e12, "Capacity:Cost:OtherMonthlyUsd must be at least 0.");
        Check(c.InputTokenWeight is null or (>= 0 and <= 100), "Capacity:Cost:InputTokenWeight must be from 0 to 100.");
        foreach (var (name, price) in c.Cloud)
        {
            Check(price.InputPerMillion is >= 0 and < 1e6 && price.OutputPerMillion is >= 0 and < 1e6 && price.InputPerMillion + price.OutputPerMillion > 0,
                $"Capacity:Cost:Cloud:{name} needs InputPerMillion and OutputPerMillion (at least 0, not both 0).");
        }
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new ConfigurationException(message);
        }
    }
}
