using Enclave.Backends;
using Enclave.Engine;
using Enclave.Native.Gguf;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Backends.Residency;

/// <summary>Residency settings are checked at start-up, and model sizes are estimated from the GGUF file.</summary>
public sealed class ModelResidencyOptionsTests
{
    private static ModelsOptions Options(EngineOptions model, long budget = 0, string keepAlive = "5m") => new()
    {
        Models = { ["m"] = model },
        Residency = { MemoryBudgetBytes = budget, KeepAlive = keepAlive },
    };

    [Fact]
    public void Validate_DefaultsAndGoodValues_Pass()
    {
        var validator = new ModelResidencyOptionsValidator();
        Assert.True(validator.Validate(null, Options(new EngineOptions { Path = TestModels.Stories })).Succeeded);
        Assert.True(validator.Validate(null, Options(new EngineOptions { Path = TestModels.Stories, KeepAlive = "-1", Preload = false }, budget: -1, keepAlive: "0")).Succeeded);
        Assert.True(validator.Validate(null, Options(new EngineOptions { Path = TestModels.Stories }, budget: 1L << 40)).Succeeded);
    }

    [Fact]
    public void Validate_BadKeepAliveAndBudget_FailNamingTheSetting()
    {
        var result = new ModelResidencyOptionsValidator().Validate(null, Options(new EngineOptions { Path = TestModels.Stories, KeepAlive = "soon" }, budget: -2, keepAlive: "later"));

        Assert.True(result.Failed);
        var failures = string.Join("\n", result.Failures!);
        Assert.Contains("Models:m:KeepAlive 'soon'", failures, StringComparison.Ordinal);
        Assert.Contains("Residency:KeepAlive 'later'", failures, StringComparison.Ordinal);
        Assert.Contains("Residency:MemoryBudgetBytes -2", failures, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ModelLargerThanAnExplicitBudget_Fails()
    {
        var result = new ModelResidencyOptionsValidator().Validate(null, Options(new EngineOptions { Path = TestModels.Stories }, budget: 1L << 20));

        Assert.True(result.Failed);
        Assert.Contains("more than Residency:MemoryBudgetBytes", string.Join("\n", result.Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public void EffectiveBudget_AutomaticIsEightyPercent_MinusOneIsUnlimited()
    {
        Assert.Equal(800, new ModelResidencyOptions().EffectiveBudget(1000));
        Assert.Null(new ModelResidencyOptions().EffectiveBudget(0));
        Assert.Null(new ModelResidencyOptions { MemoryBudgetBytes = -1 }.EffectiveBudget(1000));
        Assert.Equal(123, new ModelResidencyOptions { MemoryBudgetBytes = 123 }.EffectiveBudget(1000));
    }

    [Fact]
    public void Estimate_CountsWorkerWeightsAndKvCacheForEverySlot()
    {
        var info = GgufReader.Read(TestModels.Stories).Info;
        var one = ModelFootprint.Estimate(new EngineOptions { Path = TestModels.Stories, Slots = 1, ContextSize = 256 });
        var four = ModelFootprint.Estimate(new EngineOptions { Path = TestModels.Stories, Slots = 4, ContextSize = 256 });

        Assert.True(one > ModelFootprint.WorkerOverheadBytes + info.FileSizeBytes);
        // Three more slots of 256 cells: layers x cells x kv heads x head size x (K and V) x 2 bytes (F16).
        var perCell = (long)info.BlockCount!.Value * info.HeadCountKv!.Value * info.HeadDimension!.Value * 2 * 2;
        Assert.Equal(3 * 256 * perCell, four - one);
    }
}
