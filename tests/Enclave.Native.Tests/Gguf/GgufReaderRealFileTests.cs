using Enclave.Native.Gguf;
using Xunit;

namespace Enclave.Native.Tests.Gguf;

/// <summary>Reads the real test models (see shared/models/MODELS.md) and checks the values llama.cpp reported for them.</summary>
public sealed class GgufReaderRealFileTests
{
    [Fact]
    public void Read_EveryModelInModelsFolder_Succeeds()
    {
        var files = Directory.GetFiles(GgufTestData.ModelsDirectory, "*.gguf");
        Assert.True(files.Length >= 4, $"Expected at least 4 GGUF files in {GgufTestData.ModelsDirectory}, found {files.Length}.");
        foreach (var path in files)
        {
            var file = GgufReader.Read(path);
            Assert.Equal(new FileInfo(path).Length, file.FileSize);
            Assert.Equal(file.FileSize, file.Info.FileSizeBytes);
            Assert.InRange(file.Version, 2u, 3u);
            Assert.Equal(0, file.DataOffset % file.Alignment);
            Assert.NotEmpty(file.Tensors);
            Assert.Equal(file.Metadata.Count, file.MetadataKeys.Count);
            Assert.Equal(file.MetadataKeys, file.Metadata.Keys);
            Assert.All(file.Tensors, t => Assert.True(file.DataOffset + t.Offset + t.ByteSize <= file.FileSize, t.Name));
        }
    }

    [Fact]
    public void Read_Stories260K_ReturnsExpectedModelInfo()
    {
        var file = GgufReader.Read(GgufTestData.ModelPath("stories260K.gguf"));
        var info = file.Info;

        Assert.Equal("llama", info.Architecture);
        Assert.Equal(5, info.BlockCount);
        Assert.Equal(64, info.EmbeddingLength);
        Assert.Equal(8, info.HeadCount);
        Assert.Equal(4, info.HeadCountKv);
        Assert.Equal(172, info.FeedForwardLength);
        Assert.Equal(8, info.HeadDimension);
        Assert.Equal(2048, info.ContextLength);
        Assert.Equal(512, info.VocabularySize);
        Assert.Equal("llama", info.TokenizerModel);
        Assert.Equal(292_800, info.ParameterCount);
        Assert.Equal(1_171_200, info.TensorDataBytes);
        Assert.Equal("F32", info.Quantization);
        Assert.All(file.Tensors, t => Assert.Equal(GgmlType.F32, t.Type));
        Assert.Null(info.ChatTemplate);
        Assert.Null(info.PoolingType);
        Assert.Equal(1_185_376, info.FileSizeBytes);
        Assert.Equal(19, file.Metadata.Count);
        Assert.Equal(1u, file.Metadata["tokenizer.ggml.bos_token_id"].AsUInt64());
        Assert.Equal(2u, file.Metadata["tokenizer.ggml.eos_token_id"].AsUInt64());
    }

    [Fact]
    public void Read_Stories260KChatml_HasChatMlTemplateAndSameTensors()
    {
        var plain = GgufReader.Read(GgufTestData.ModelPath("stories260K.gguf"));
        var chat = GgufReader.Read(GgufTestData.ModelPath("stories260K-chatml.gguf"));

        Assert.NotNull(chat.Info.ChatTemplate);
        Assert.Contains("<|im_start|>", chat.Info.ChatTemplate, StringComparison.Ordinal);
        Assert.Contains("add_generation_prompt", chat.Info.ChatTemplate, StringComparison.Ordinal);
        Assert.Equal("stories260K (ChatML template added)", chat.Info.Name);
        Assert.Equal(20, chat.Metadata.Count);
        Assert.Equal(plain.Info.ParameterCount, chat.Info.ParameterCount);
        Assert.Equal(plain.Tensors.Select(t => (t.Name, t.Type, t.Offset, t.ByteSize)), chat.Tensors.Select(t => (t.Name, t.Type, t.Offset, t.ByteSize)));
        Assert.Equal(chat.FileSize - chat.DataOffset, plain.FileSize - plain.DataOffset);
    }

    [Fact]
    public void Read_LlamaTinyRandom_ReturnsExpectedModelInfo()
    {
        var info = GgufReader.Read(GgufTestData.ModelPath("llama-2-tiny-random.gguf")).Info;

        Assert.Equal("llama", info.Architecture);
        Assert.Equal("LLaMA v2", info.Name);
        Assert.Equal(32_000, info.VocabularySize);
        Assert.Equal(1, info.FileType);
        Assert.Equal("F16", info.Quantization);
        Assert.Equal(513_048, info.ParameterCount);
        Assert.Equal(4096, info.ContextLength);
        Assert.Equal(1, info.BlockCount);
        Assert.Equal(8, info.EmbeddingLength);
        Assert.Equal(2, info.HeadCount);
        Assert.Equal(4, info.HeadDimension);
        Assert.Null(info.ChatTemplate);
    }

    [Fact]
    public void Read_SyntheticBert_ReturnsExpectedModelInfo()
    {
        var file = GgufReader.Read(GgufTestData.ModelPath("synthetic-bow-bert-128d-f16.gguf"));
        var info = file.Info;

        Assert.Equal("bert", info.Architecture);
        Assert.Equal(128, info.EmbeddingLength);
        Assert.Equal(1, info.PoolingType);
        Assert.Equal(30_522, info.VocabularySize);
        Assert.Equal(4_072_448, info.ParameterCount);
        Assert.Equal(1, info.BlockCount);
        Assert.Equal(2, info.HeadCount);
        Assert.Equal(128, info.FeedForwardLength);
        Assert.Equal(512, info.ContextLength);
        Assert.Equal("bert", info.TokenizerModel);
        Assert.Equal("F16", info.Quantization);
        Assert.Contains(file.Tensors, t => t.Type == GgmlType.F16 && t.DimensionCount == 2);
        Assert.Contains(file.Tensors, t => t.Type == GgmlType.F32 && t.DimensionCount == 1);
        Assert.Equal("[CLS]", file.Metadata["tokenizer.ggml.tokens"].AsArray().AsStrings()[101]);
    }

    [Fact]
    public void Read_StreamOverload_MatchesPathOverload()
    {
        var path = GgufTestData.ModelPath("stories260K.gguf");
        var fromPath = GgufReader.Read(path);
        using var stream = File.OpenRead(path);
        var fromStream = GgufReader.Read(stream, stream.Length, "stories");

        Assert.Equal("stories", fromStream.Path);
        Assert.Equal(fromPath.Info with { }, fromStream.Info);
        Assert.Equal(fromPath.DataOffset, fromStream.DataOffset);
        Assert.Equal(fromPath.MetadataKeys, fromStream.MetadataKeys);
        foreach (var key in fromPath.MetadataKeys)
        {
            Assert.Equal(fromPath.Metadata[key], fromStream.Metadata[key]);
        }
    }

    [Fact]
    public void Read_MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => GgufReader.Read(Path.Combine(GgufTestData.ModelsDirectory, "does-not-exist.gguf")));
    }
}
