using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Capacity;

/// <summary><c>enclave plan</c> and <c>enclave cost</c> from the command line.</summary>
public sealed class PlanCostCliTests
{
    private static readonly Lazy<string> Llama3 = new(() => SyntheticGguf.Write(SyntheticGguf.Llama3_8B));

    [Theory]
    [InlineData("give a MODEL")]
    [InlineData("'/nonexistent.gguf' is neither a file nor a model configured", "/nonexistent.gguf")]
    [InlineData("--kv-type 'q9' is not a KV cache type", "MODEL", "--kv-type", "q9")]
    [InlineData("--hardware 'quantum-9000' is not a known profile", "MODEL", "--hardware", "quantum-9000")]
    [InlineData("--memory 'lots' is not an amount of memory", "MODEL", "--memory", "lots")]
    [InlineData("--bandwidth without --hardware needs --memory too", "MODEL", "--bandwidth", "20GB/s")]
    [InlineData("--bench '/nonexistent.json' does not exist", "--bench", "/nonexistent.json", "--target-rps", "1")]
    [InlineData("--target-rps needs --bench", "MODEL", "--target-rps", "5")]
    [InlineData("Cannot parse argument 'many' for option '--context'", "MODEL", "--context", "many")]
    public async Task Plan_BadInput_OneLineAndExitCode2(string expected, params string[] args)
    {
        var run = await CapacityCli.RunInProcessAsync(["plan", .. args.Select(a => a == "MODEL" ? Llama3.Value : a)]);

        CapacityCli.AssertUsageError(run, "plan", expected);
    }

    [Theory]
    [InlineData("no hardware price: pass --price", "--throughput", "100", "--power", "300")]
    [InlineData("no power draw: pass --power", "--throughput", "100", "--price", "3000")]
    [InlineData("no throughput: pass --bench FILE", "--price", "3000", "--power", "300")]
    [InlineData("--utilization '2' must be above 0 and at most 1", "--throughput", "100", "--price", "3000", "--power", "300", "--utilization", "2")]
    [InlineData("--cloud 'acme' is neither a configured cloud model nor NAME=IN/OUT", "--throughput", "100", "--price", "3000", "--power", "300", "--cloud", "acme")]
    [InlineData("--since 'yesterday' is not a time", "--throughput", "100", "--price", "3000", "--power", "300", "--since", "yesterday")]
    public async Task Cost_BadInput_OneLineAndExitCode2(string expected, params string[] args)
    {
        var run = await CapacityCli.RunInProcessAsync(["cost", "--data-dir", CapacityCli.TempDir(), .. args]);

        CapacityCli.AssertUsageError(run, "cost", expected);
    }

    [Fact]
    public async Task Plan_InvalidCapacityConfiguration_NamesTheSetting()
    {
        var config = Path.Combine(CapacityCli.TempDir(), "enclave.json");
        await File.WriteAllTextAsync(config, """{ "Capacity": { "Cost": { "Utilization": 3 } } }""");

        var run = await CapacityCli.RunInProcessAsync("plan", Llama3.Value, "--config", config);

        CapacityCli.AssertUsageError(run, "plan", "Capacity:Cost:Utilization must be above 0 and at most 1");
    }

    [Fact]
    public async Task Plan_ConfiguredProfileAndModel_AreUsedByName()
    {
        var dir = CapacityCli.TempDir();
        var config = Path.Combine(dir, "enclave.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
        {
            Models = new { llama = new { Path = Llama3.Value, ContextSize = 4096 } },
            Capacity = new { Hardware = new { lab = new { Kind = "gpu", MemoryGiB = 48, BandwidthGBps = 900, ReservedGiB = 2 } } },
        }));
        var json = Path.Combine(dir, "plan.json");

        var run = await CapacityCli.RunAsync("plan", "llama", "--config", config, "--hardware", "lab,nvidia-l4", "--kv-type", "q8_0", "--json", json);

        Assert.True(run.Code == 0, run.Error + run.Output);
        var plan = CapacityCli.ReadJson(json);
        Assert.Equal(4096, plan.GetProperty("kv_cache").GetProperty("context").GetInt32());
        Assert.Equal(32 * 8 * 256 * 34 / 32.0, plan.GetProperty("kv_cache").GetProperty("bytes_per_token").GetDouble());
        var lab = plan.GetProperty("hardware")[0];
        Assert.Equal(("lab", "configuration"), (lab.GetProperty("profile").GetString(), lab.GetProperty("source").GetString()));
        var budget = lab.GetProperty("kv_budget_bytes").GetInt64();
        var sequences = lab.GetProperty("max_sequences").GetInt64();
        var mask = 2 * 512 * 4096L; // the f16 attention mask per sequence, part of the compute buffer
        var fixedCompute = lab.GetProperty("compute_buffer_bytes").GetInt64() - (sequences * mask);
        Assert.Equal((48L << 30) - (2L << 30) - plan.GetProperty("model").GetProperty("weights_bytes").GetInt64() - fixedCompute, budget);
        Assert.Equal((long)(budget / ((69_632.0 * 4096) + mask)), sequences);
        var read = plan.GetProperty("model").GetProperty("weights_read_per_token_bytes").GetInt64();
        Assert.Equal(Math.Round(900e9 / read, 2), lab.GetProperty("decode_bound_empty_tokens_per_s").GetDouble());
        Assert.Contains("lab (configuration)", run.Output);
        Assert.Contains("nvidia-l4", run.Output);
    }

    [Fact]
    public async Task Cost_ThroughputWithoutLedger_PricesAndComparesWithTheBuiltInCloudList()
    {
        var dir = CapacityCli.TempDir();
        var json = Path.Combine(dir, "cost.json");

        var run = await CapacityCli.RunAsync("cost", "--throughput", "800", "--input-throughput", "1600", "--hardware", "nvidia-l40s", "--price", "$9000",
            "--energy-price", "0.3", "--data-dir", Path.Combine(dir, "empty"), "--cloud", "gpt-4o-mini,mine=1/4", "--json", json);

        Assert.True(run.Code == 0, run.Error + run.Output);
        var cost = CapacityCli.ReadJson(json);
        Assert.Equal(350, cost.GetProperty("inputs").GetProperty("power_watts").GetDouble()); // from the L40S profile
        Assert.Equal(9000 / 36.0, cost.GetProperty("local").GetProperty("amortization_monthly_usd").GetDouble(), 6);
        Assert.Equal(["gpt-4o-mini", "mine"], cost.GetProperty("cloud").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.False(cost.TryGetProperty("chargeback", out _));
        Assert.Contains("chargeback: no requests in the ledger", run.Output);
        Assert.False(Directory.Exists(Path.Combine(dir, "empty")), "reading no ledger must not create a data directory");
    }
}
