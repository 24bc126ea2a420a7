using Enclave.Capacity;
using Enclave.Capacity.Hardware;
using Enclave.Capacity.Plan;
using Enclave.Native.Gguf;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Capacity;

public sealed class ModelMemoryTests
{
    private static readonly KvCacheType Q8 = KvCacheType.Parse("q8_0", "--kv-type");
    private static readonly KvCacheType Q4 = KvCacheType.Parse("q4_0", "--kv-type");

    [Fact]
    public void Read_Llama3Shape_KvPerTokenIsLayersTimesKvHeadsTimesHeadSizeTimesTwoTimesElementSize()
    {
        var model = ModelMemory.Read(SyntheticGguf.Write(SyntheticGguf.Llama3_8B));

        Assert.Equal((32, 8, 128, 128), (model.Layers, model.KvHeads, model.KeyLength, model.ValueLength));
        Assert.InRange(model.Parameters, 8.02e9, 8.04e9);
        // The well-known 128 KiB per token of Llama 3 8B with an f16 cache; q8_0 and q4_0 store 34 and 18 bytes per 32 values.
        Assert.Equal(32 * 8 * 128 * 2 * 2, model.KvBytesPerToken(KvCacheType.F16, KvCacheType.F16));
        Assert.Equal(32 * 8 * 256 * 34 / 32.0, model.KvBytesPerToken(Q8, Q8));
        Assert.Equal(32 * 8 * 256 * 18 / 32.0, model.KvBytesPerToken(Q4, Q4));
        Assert.Equal((32 * 8 * 128 * 2) + (32 * 8 * 128 * 18 / 32.0), model.KvBytesPerToken(KvCacheType.F16, Q4));
        Assert.Equal(128_256, model.VocabularySize);
    }

    [Fact]
    public void Read_UntiedAndTiedEmbeddings_OnlyATiedEmbeddingIsReadWholePerToken()
    {
        var untied = ModelMemory.Read(SyntheticGguf.Write(SyntheticGguf.Llama3_8B));
        var tied = ModelMemory.Read(SyntheticGguf.Write(SyntheticGguf.Qwen25_05B));

        var embedding = GgmlTypeTraits.GetByteSize(GgmlType.Q4_0, 4096L * 128_256)!.Value;
        Assert.Equal(untied.WeightsBytes - embedding, untied.WeightsReadPerTokenBytes);
        Assert.Equal(tied.WeightsBytes, tied.WeightsReadPerTokenBytes);
        Assert.Equal(24 * 2 * (64 + 64) * 2, tied.KvBytesPerToken(KvCacheType.F16, KvCacheType.F16));
    }

    [Fact]
    public void Read_RealModel_MatchesItsMetadata()
    {
        var file = GgufReader.Read(TestModels.StoriesChat);
        var model = ModelMemory.From(file);

        var info = file.Info;
        Assert.Equal(info.TensorDataBytes, model.WeightsBytes);
        Assert.Equal(info.BlockCount!.Value * info.HeadCountKv!.Value * info.HeadDimension!.Value * 2 * 2, model.KvBytesPerToken(KvCacheType.F16, KvCacheType.F16));
    }

    [Fact]
    public void Read_PerLayerKvHeads_SumsLayerByLayer()
    {
        var path = Path.Combine(CapacityCli.TempDir(), "hybrid.gguf");
        new GgufWriter()
            .Add("general.architecture", "llama")
            .Add("llama.block_count", 4u)
            .Add("llama.embedding_length", 256u)
            .Add("llama.attention.head_count", 4u)
            .Add("llama.attention.head_count_kv", GgufValue.FromArray(GgufArray.Of(2u, 2u, 0u, 4u)))
            .AddTensor("token_embd.weight", GgmlType.F32, [256, 100])
            .Save(path);

        var model = ModelMemory.Read(path);

        Assert.Equal(8, model.KvHeadsTotal);
        Assert.Equal(8 * 64 * 2 * 2, model.KvBytesPerToken(KvCacheType.F16, KvCacheType.F16));
    }

    [Fact]
    public void Read_EmbeddingModel_IsAUsageError()
    {
        var error = Assert.Throws<CapacityUsageException>(() => ModelMemory.Read(TestModels.Bert));

        Assert.Contains("embedding model", error.Message);
    }

    [Fact]
    public void Fit_KnownNumbers_MaxSequencesAndBoundsFollowTheFormulas()
    {
        var model = ModelMemory.Read(SyntheticGguf.Write(SyntheticGguf.Llama3_8B));
        var gpu = new HardwareProfile { Name = "gpu24", Kind = "gpu", MemoryGiB = 24, BandwidthGBps = 1000, Tflops = 100, ReservedGiB = 1 };

        var fit = SizingCalculator.Fit(model, KvCacheType.F16, KvCacheType.F16, 8192, gpu, decodeContext: 1000);

        var budget = (24L << 30) - (1L << 30) - model.WeightsBytes - SizingCalculator.ComputeBufferBytes(model);
        var perSequence = (131_072.0 * 8192) + (2 * 512 * 8192); // KV cache, and the f16 attention mask of a 512-token micro-batch
        Assert.Equal(budget, fit.KvBudgetBytes);
        Assert.Equal((long)Math.Floor(budget / perSequence), fit.MaxSequences);
        Assert.Equal(18, fit.MaxSequences); // 24 - 1 reserve - 4.2 weights - 0.4 compute = 18.4 GiB for 1 GiB sequences
        Assert.Equal(18 * 131_072.0 * 8192, fit.KvBytesAtMaxSequences);
        Assert.Equal(SizingCalculator.ComputeBufferBytes(model) + (18 * 2 * 512 * 8192), fit.ComputeBufferBytes);
        Assert.Equal(Math.Round(1e12 / model.WeightsReadPerTokenBytes, 2), fit.DecodeBoundEmptyTokensPerS);
        Assert.Equal(Math.Round(1e12 / (model.WeightsReadPerTokenBytes + (131_072.0 * 8192)), 2), fit.DecodeBoundFullTokensPerS);
        Assert.Equal(Math.Round(1e12 / (model.WeightsReadPerTokenBytes + (131_072.0 * 1000)), 2), fit.DecodeBoundAtContextTokensPerS);
        var batched = 1e12 * fit.MaxSequences / (model.WeightsReadPerTokenBytes + (fit.MaxSequences * 131_072.0 * 8192 / 2));
        Assert.Equal(Math.Round(Math.Min(batched, 100e12 / (2.0 * model.Parameters)), 2), fit.AggregateBoundAtMaxTokensPerS);
        Assert.True(fit.AggregateBoundAtMaxTokensPerS > fit.DecodeBoundEmptyTokensPerS);
        Assert.Empty(fit.BoundsAtConcurrency);
    }

    [Fact]
    public void Fit_Concurrencies_GiveTheBatchedBoundAtEachAndWhetherItFits()
    {
        var model = ModelMemory.Read(SyntheticGguf.Write(SyntheticGguf.Llama3_8B));
        var gpu = new HardwareProfile { Name = "gpu24", Kind = "gpu", MemoryGiB = 24, BandwidthGBps = 1000, ReservedGiB = 1 };

        var fit = SizingCalculator.Fit(model, KvCacheType.F16, KvCacheType.F16, 8192, gpu, decodeContext: 1000, concurrencies: [1, 8, 64]);

        Assert.Equal([1, 8, 64], fit.BoundsAtConcurrency.Select(b => b.Concurrency));
        Assert.Equal(fit.DecodeBoundAtContextTokensPerS, fit.BoundsAtConcurrency[0].TokensPerS);
        Assert.Equal(Math.Round(1e12 * 8 / (model.WeightsReadPerTokenBytes + (8 * 131_072.0 * 1000)), 2), fit.BoundsAtConcurrency[1].TokensPerS);
        Assert.Equal([true, true, false], fit.BoundsAtConcurrency.Select(b => b.Fits));
    }

    [Fact]
    public void Fit_WeightsLargerThanMemory_DoesNotFit()
    {
        var model = ModelMemory.Read(SyntheticGguf.Write(SyntheticGguf.Llama3_8B));

        var fit = SizingCalculator.Fit(model, KvCacheType.F16, KvCacheType.F16, 4096, new HardwareProfile { Name = "small", Kind = "gpu", MemoryGiB = 4, BandwidthGBps = 300 });

        Assert.False(fit.Fits);
        Assert.Equal(0, fit.MaxSequences);
        Assert.True(fit.KvBudgetBytes < 0);
        Assert.Null(fit.AggregateBoundAtMaxTokensPerS);
    }

    [Fact]
    public void Fit_QuantizedKvCache_FitsAboutTwiceAsManySequences()
    {
        var model = ModelMemory.Read(SyntheticGguf.Write(SyntheticGguf.Llama3_8B));
        var h100 = HardwareProfiles.Find("nvidia-h100-sxm", new CapacityOptions());

        var f16 = SizingCalculator.Fit(model, KvCacheType.F16, KvCacheType.F16, 8192, h100);
        var q8 = SizingCalculator.Fit(model, Q8, Q8, 8192, h100);

        Assert.InRange(q8.MaxSequences / (double)f16.MaxSequences, 1.85, 1.9);
    }

    [Fact]
    public void BandwidthProbe_ReadsMemory_AtAPlausibleRate()
    {
        var bytesPerSecond = BandwidthProbe.Measure(threads: 1, bytes: 64L << 20, passes: 2);

        Assert.InRange(bytesPerSecond, 2e8, 2e12);
    }
}
