using Enclave.Capacity;
using Enclave.Capacity.Bench;

namespace Enclave.Tests.Capacity;

public sealed class CapacityParseTests
{
    [Fact]
    public void Values_WithUnits_ParseToTheRightAmounts()
    {
        Assert.Equal([1, 2, 4, 8], CapacityParse.IntList(" 1, 2,4 ,8", "--concurrency", 64));
        Assert.Equal(TimeSpan.FromMilliseconds(250), CapacityParse.Latency("250ms", "--x"));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), CapacityParse.Latency("1.5s", "--x"));
        Assert.Equal(TimeSpan.FromMinutes(2), CapacityParse.Latency("2m", "--x"));
        Assert.Equal(24L << 30, CapacityParse.Bytes("24GiB", "--x"));
        Assert.Equal(80_000_000_000L, CapacityParse.Bytes("80GB", "--x"));
        Assert.Equal(22e9, CapacityParse.Bandwidth("22GB/s", "--x"));
        Assert.Equal(3.35e12, CapacityParse.Bandwidth("3.35TB/s", "--x"));
        Assert.Equal(22e9, CapacityParse.Bandwidth("22", "--x"));
        Assert.Equal(0.6, CapacityParse.Fraction("60%", "--x"), 9);
        Assert.Equal(450, CapacityParse.Positive("450W", "--x", "1"));
    }

    [Theory]
    [InlineData("1,,2")]
    [InlineData("")]
    [InlineData("1,-2")]
    [InlineData("1.5")]
    [InlineData("5000")]
    public void IntList_Malformed_Throws(string text) =>
        Assert.Throws<CapacityUsageException>(() => CapacityParse.IntList(text, "--concurrency", 4096));

    [Fact]
    public void TokenDistribution_SameSeed_SameDrawsWithinTheRange()
    {
        var uniform = TokenDistribution.Parse("128-512", "--input-tokens");
        var normal = TokenDistribution.Parse("normal:256:64", "--input-tokens");

        var r1 = new Random(5);
        var draws = Enumerable.Range(0, 1000).Select(_ => uniform.Sample(r1)).ToList();
        var r2 = new Random(5);
        Assert.Equal(draws, Enumerable.Range(0, 1000).Select(_ => uniform.Sample(r2)));
        Assert.All(draws, d => Assert.InRange(d, 128, 512));
        Assert.InRange(draws.Average(), 300, 340);
        var r3 = new Random(6);
        var normals = Enumerable.Range(0, 4000).Select(_ => (double)normal.Sample(r3)).ToList();
        Assert.InRange(normals.Average(), 250, 262);
        Assert.InRange(Math.Sqrt(normals.Average(v => Math.Pow(v - 256, 2))), 58, 70);
        Assert.Equal(320, uniform.Mean);
        Assert.Equal(7, TokenDistribution.Parse("7", "--x").Sample(r3));
    }

    [Fact]
    public void SyntheticPrompts_Calibrated_HaveTheWordCountsThatGiveTheTokens()
    {
        var calibration = TokenCalibration.Fit(16, 34, 96, 194);

        Assert.Equal((2.0, 2.0), (calibration.Intercept, calibration.TokensPerWord));
        var prompts = SyntheticPrompts.Create(50, TokenDistribution.Fixed(202), TokenDistribution.Parse("10-20", "--x"), calibration, seed: 3);
        Assert.All(prompts, p => Assert.Equal(100, p.Text!.Split(' ').Length));
        Assert.Equal(50, prompts.Select(p => p.Text).Distinct().Count());
        Assert.All(prompts, p => Assert.InRange(p.MaxTokens, 10, 20));
        Assert.Equal(TokenCalibration.Default, TokenCalibration.Fit(16, 40, 96, 30));
    }
}
