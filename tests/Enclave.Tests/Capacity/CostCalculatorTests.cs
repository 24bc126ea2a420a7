using Enclave.Capacity;
using Enclave.Capacity.Bench;
using Enclave.Capacity.Cost;
using Enclave.Ledger;
using Enclave.Tests.Ledger;

namespace Enclave.Tests.Capacity;

public sealed class CostCalculatorTests
{
    private static readonly CostInputs Inputs = new()
    {
        PriceUsd = 36_000,
        AmortizationMonths = 36,
        PowerWatts = 1000,
        IdlePowerWatts = 200,
        EnergyPricePerKwh = 0.1,
        Pue = 1.0,
        Utilization = 0.5,
        OtherMonthlyUsd = 100,
        OutputTokensPerS = 1000,
        InputTokensPerS = 2000,
        RequestsPerS = 4,
        ThroughputSource = "test",
        InputTokenWeight = 0.25,
        InputTokenWeightSource = "test",
    };

    [Fact]
    public void Local_HandComputedExample_Matches()
    {
        var local = CostCalculator.Local(Inputs);

        // Energy: (0.2 kW idle + 0.8 kW x 50% busy) x 730 h x 0.1 = 43.8; total 1000 + 43.8 + 100.
        Assert.Equal(1000, local.AmortizationMonthlyUsd, 6);
        Assert.Equal(43.8, local.EnergyMonthlyUsd, 6);
        Assert.Equal(1143.8, local.TotalMonthlyUsd, 6);
        // Busy seconds: 730 x 3600 x 0.5 = 1,314,000.
        Assert.Equal(1_314_000_000, local.OutputTokensPerMonth);
        Assert.Equal(1143.8 / 1314, local.UsdPerMillionOutputTokens, 5);
        Assert.Equal(1143.8 / 3942, local.UsdPerMillionTokens, 5);
        Assert.Equal(1143.8 / (1314 + (0.25 * 2628)), local.UsdPerMillionWeightedTokens, 5);
        Assert.Equal(1143.8 / (4 * 1_314_000) * 1000, local.UsdPerThousandRequests!.Value, 5);
    }

    [Fact]
    public void Compare_CloudDearer_BreaksEvenWhereBothCostTheSame()
    {
        var local = CostCalculator.Local(Inputs);

        var c = CostCalculator.Compare(Inputs, local, new CloudPrice("api", 0.5, 1.5));

        // A busy hour at cloud prices: (2000 x 0.5 + 1000 x 1.5) x 3600 / 1e6 = 9.00; fixed 1000 + 100 + 14.6 idle energy.
        var u = 1114.6 / (730 * (9.0 - 0.08));
        Assert.Equal(u, c.BreakEvenUtilization!.Value, 4);
        Assert.Equal(9.0 * 730 * 0.5, c.MonthlyUsdSameVolume, 6);
        Assert.Equal(9.0 * 730 * 0.5 / 1143.8, c.CloudToLocalRatio, 5);
        Assert.Equal(Math.Round(u * 3000 * 730 * 3600), c.BreakEvenTokensPerMonth!.Value, 0);
        Assert.Equal(Math.Round(u * 4 * 86_400), c.BreakEvenRequestsPerDay!.Value, 0);
        Assert.Contains("cheaper above 17.1% utilization (you assume 50%)", c.Verdict);
        // At the break-even utilization both sides really cost the same.
        var localThere = CostCalculator.Local(Inputs with { Utilization = u }).TotalMonthlyUsd;
        Assert.Equal(localThere, 9.0 * 730 * u, 3);
    }

    [Fact]
    public void Compare_CloudCheaperThanAFullyBusyServer_NeverBreaksEven()
    {
        var local = CostCalculator.Local(Inputs);

        var c = CostCalculator.Compare(Inputs, local, new CloudPrice("cheap", 0.01, 0.02));

        Assert.True(c.BreakEvenUtilization > 1);
        Assert.Null(c.BreakEvenTokensPerMonth);
        Assert.StartsWith("local never breaks even", c.Verdict);
        Assert.True(c.CloudToLocalRatio < 1);
    }

    [Fact]
    public async Task Charge_LedgerKeys_SplitsByWeightedTokens()
    {
        using var dir = new LedgerTestDirectory();
        await using (var writer = new LedgerWriter(dir.Database))
        {
            await writer.WriteAsync(LedgerTestDirectory.Record("a", key: "team-a", prompt: 4000, completion: 1000), CancellationToken.None);
            await writer.WriteAsync(LedgerTestDirectory.Record("b", key: "team-b", prompt: 0, completion: 3000), CancellationToken.None);
        }

        var rows = await LedgerQueries.UsageAsync(dir.Database, null, UsageGrouping.Key, CancellationToken.None);
        var local = CostCalculator.Local(Inputs);
        var charge = CostCalculator.Charge(rows, null, Inputs, local, new CloudPrice("api", 0.5, 1.5));

        // team-a weighs 1000 + 0.25 x 4000 = 2000, team-b 3000.
        Assert.Equal(["team-b", "team-a"], charge.Keys.Select(k => k.Key));
        Assert.Equal((3000.0, 0.6), (charge.Keys[0].WeightedTokens, charge.Keys[0].Share));
        Assert.Equal(2000 * local.UsdPerMillionWeightedTokens / 1e6, charge.Keys[1].LocalUsd, 9);
        Assert.Equal(((4000 * 0.5) + (1000 * 1.5)) / 1e6, charge.Keys[1].CloudUsd!.Value, 9);
        Assert.Equal(5000, charge.Total.WeightedTokens);
        Assert.Equal(charge.Keys.Sum(k => k.LocalUsd), charge.Total.LocalUsd, 9);
    }

    [Fact]
    public void Build_NoPriceAnywhere_IsAUsageErrorNamingTheFix()
    {
        var error = Assert.Throws<CapacityUsageException>(() => CostInputsBuilder.Build(new CostOptions(), [], new CostInputsBuilder.GivenValues { OutputTokensPerS = 10 }, null, null));

        Assert.Contains("--price", error.Message);
        Assert.Contains("Capacity:Cost:PriceUsd", error.Message);
    }

    [Fact]
    public void Build_FromBench_PricesTheBestLevelUnderTheSloAndMeasuresTheInputWeight()
    {
        var bench = BenchAnalysisTests.Result(
            BenchAnalysisTests.Level(1, rps: 1, outTps: 50, e2eP50: 1000, ttftP50: 100, tpotP50: 20, inputMean: 500, met: true),
            BenchAnalysisTests.Level(4, rps: 3, outTps: 150, e2eP50: 1300, ttftP50: 150, tpotP50: 25, inputMean: 500, met: true),
            BenchAnalysisTests.Level(8, rps: 3.2, outTps: 160, e2eP50: 2500, ttftP50: 400, tpotP50: 40, inputMean: 500, met: false));

        var inputs = CostInputsBuilder.Build(new CostOptions { PriceUsd = 1000, PowerWatts = 100 }, [], new CostInputsBuilder.GivenValues(), bench, "b.json");

        Assert.Equal(150, inputs.OutputTokensPerS);
        Assert.Equal("b.json level c=4 (highest load meeting the bench's SLO)", inputs.ThroughputSource);
        // Prefill 100 ms / 500 tokens = 0.2 ms per prompt token against 20 ms per output token.
        Assert.Equal(0.01, inputs.InputTokenWeight);
        Assert.Equal(100, inputs.IdlePowerWatts);
    }
}
