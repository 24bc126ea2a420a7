using Enclave.Native;
using Enclave.Native.Gguf;
using Xunit;

namespace Enclave.Native.Tests.Interop;

/// <summary>The bindings against the real bundled llama.cpp and the real test models.</summary>
public sealed class LlamaLibraryTests
{
    private static string Models => Gguf.GgufTestData.ModelsDirectory;

    [Fact]
    public void Initialize_BundledLibrary_LoadsCpuBackendAndPassesLayoutCheck()
    {
        var info = LlamaLibrary.Initialize();

        Assert.Equal("v0.5.0", info.Release);
        Assert.Contains("CPU", info.Backends);
        Assert.StartsWith("libggml-cpu-", info.CpuVariant);
        Assert.Same(info, LlamaLibrary.Initialize());
    }

    [Fact]
    public void Load_RealModel_ReportsSameFactsAsManagedReader()
    {
        var path = Path.Combine(Models, "stories260K.gguf");
        using var model = LlamaModel.Load(path);
        var gguf = GgufReader.Read(path);

        Assert.Equal((ulong)gguf.Info.ParameterCount, model.ParameterCount);
        Assert.Equal(gguf.Info.VocabularySize, model.VocabSize);
        Assert.Equal(gguf.Info.ContextLength, model.TrainContextLength);
        Assert.Equal(gguf.Info.EmbeddingLength, model.EmbeddingLength);
        Assert.Equal("llama", model.Architecture);
        Assert.False(model.IsEmbeddingOnly);
        Assert.Null(model.ChatTemplate);
    }

    [Fact]
    public void Load_BertModel_IsEmbeddingOnlyWithPooling()
    {
        using var model = LlamaModel.Load(Path.Combine(Models, "synthetic-bow-bert-128d-f16.gguf"));

        Assert.True(model.IsEmbeddingOnly);
        Assert.Equal("1", model.PoolingType);
        Assert.Equal(128, model.EmbeddingLength);
    }

    [Fact]
    public void Tokenize_ThenPieces_RoundTripsText()
    {
        using var model = LlamaModel.Load(Path.Combine(Models, "llama-2-tiny-random.gguf"));
        const string text = "The gateway streams tokens, naïvely — 東京!";

        var tokens = model.Tokenize(text, addSpecial: true, parseSpecial: false);
        var bytes = new List<byte>();
        foreach (var t in tokens)
        {
            model.AppendPiece(t, bytes);
        }

        Assert.Equal(1, tokens[0]); // BOS
        Assert.Equal(" " + text, System.Text.Encoding.UTF8.GetString(bytes.ToArray()));
    }

    [Fact]
    public void ApplyChatTemplate_StoredChatMl_RendersMessagesAndAssistantPrompt()
    {
        using var model = LlamaModel.Load(Path.Combine(Models, "stories260K-chatml.gguf"));

        var rendered = LlamaModel.ApplyChatTemplate(model.ChatTemplate!, [("system", "Be brief."), ("user", "Hi")], addAssistant: true);

        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", rendered);
    }

    [Fact]
    public void ApplyChatTemplate_UnknownTemplate_ReturnsNull()
    {
        LlamaLibrary.Initialize();

        Assert.Null(LlamaModel.ApplyChatTemplate("{{ this is not a template llama.cpp knows }}", [("user", "Hi")], addAssistant: true));
    }

    [Fact]
    public void Load_MissingFile_ThrowsClearError()
    {
        var ex = Assert.Throws<LlamaException>(() => LlamaModel.Load("/nonexistent/model.gguf"));

        Assert.Contains("does not exist", ex.Message);
    }
}
