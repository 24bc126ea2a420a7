using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Enclave.Native.Gguf;
using Enclave.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Chat;
using OllamaSharp.Models.Exceptions;
using static Enclave.Tests.Ollama.OllamaTestSupport;

namespace Enclave.Tests.Ollama;

/// <summary>The real OllamaSharp client (5.5.2) against a real gateway, through its own API and its IChatClient.</summary>
[Collection(SharedGatewayGroup.Name)]
public sealed class OllamaClientTests(SharedGateway shared) : IDisposable
{
    private readonly OllamaApiClient _client = new(new HttpClient { BaseAddress = shared.Gateway.BaseUrl, Timeout = TimeSpan.FromSeconds(60) });

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task ListLocalModels_ReportsEachModelWithItsFileSizeDigestAndGgufDetails()
    {
        var models = (await _client.ListLocalModelsAsync()).ToList();

        Assert.Equal(["bert:latest", "chat:latest", "stories:latest", "tiny:latest"], models.Select(m => m.Name).Order(StringComparer.Ordinal));
        var chat = models.Single(m => m.Name == "chat:latest");
        var file = new FileInfo(TestModels.StoriesChat);
        var info = GgufReader.Read(TestModels.StoriesChat).Info;
        Assert.Equal(file.Length, chat.Size);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file.FullName))), chat.Digest);
        Assert.True(Math.Abs((chat.ModifiedAt.ToUniversalTime() - file.LastWriteTimeUtc).TotalSeconds) < 1, $"modified_at {chat.ModifiedAt:o} vs {file.LastWriteTimeUtc:o}");
        Assert.Equal("gguf", chat.Details.Format);
        Assert.Equal(info.Architecture, chat.Details.Family);
        Assert.Equal([info.Architecture], chat.Details.Families!);
        Assert.Equal(info.Quantization, chat.Details.QuantizationLevel);
        Assert.Equal(FormattableString.Invariant($"{Math.Round(info.ParameterCount / 1000.0):0}K"), chat.Details.ParameterSize);
        Assert.Equal("bert", models.Single(m => m.Name == "bert:latest").Details.Family);
    }

    [Fact]
    public async Task IsRunningAndVersion_AnswerAsOllamaDoes()
    {
        Assert.True(await _client.IsRunningAsync());
        var version = await _client.GetVersionAsync();
        Assert.True(Version.TryParse(version, out var parsed), $"'{version}' is not a version");
        Assert.True(parsed >= new Version(0, 5, 0));
    }

    [Fact]
    public async Task ChatClient_GetResponse_SameAnswerAsTheOpenAiSurfaceWithUsage()
    {
        var expected = await OpenAiChatAsync(shared.Gateway.Http, "chat", "Tell me a story", 12);
        IChatClient chat = _client;

        var response = await chat.GetResponseAsync([new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.User, "Tell me a story")],
            new ChatOptions { ModelId = "chat:latest", Temperature = 0, MaxOutputTokens = 12 });

        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(expected.Prompt, response.Usage?.InputTokenCount);
        Assert.Equal(expected.Completion, response.Usage?.OutputTokenCount);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Length, response.FinishReason);
    }

    [Fact]
    public async Task ChatClient_GetStreamingResponse_StreamsTheSameTextAndEndsWithUsage()
    {
        var expected = await OpenAiChatAsync(shared.Gateway.Http, "chat", "Hello there", 10);
        IChatClient chat = _client;

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in chat.GetStreamingResponseAsync([new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.User, "Hello there")],
            new ChatOptions { ModelId = "chat", Temperature = 0, MaxOutputTokens = 10 }))
        {
            updates.Add(update);
        }

        Assert.True(updates.Count(u => u.Text.Length > 0) > 1, "the answer did not arrive in pieces");
        Assert.Equal(expected.Text, string.Concat(updates.Select(u => u.Text)));
        var usage = updates.SelectMany(u => u.Contents).OfType<UsageContent>().Single().Details;
        Assert.Equal(expected.Prompt, usage.InputTokenCount);
        Assert.Equal(expected.Completion, usage.OutputTokenCount);
    }

    [Fact]
    public async Task ChatAsync_Streamed_FinalChunkCarriesCountsAndNanosecondTimings()
    {
        var request = new ChatRequest
        {
            Model = "chat",
            Messages = [new Message(OllamaSharp.Models.Chat.ChatRole.System, "You tell stories."), new Message(OllamaSharp.Models.Chat.ChatRole.User, "Once")],
            Stream = true,
            Options = new RequestOptions { Temperature = 0, NumPredict = 6 },
        };

        var chunks = new List<ChatResponseStream?>();
        await foreach (var chunk in _client.ChatAsync(request))
        {
            chunks.Add(chunk);
        }

        Assert.All(chunks[..^1], c => Assert.False(c!.Done));
        Assert.All(chunks[..^1], c => Assert.Equal("chat", c!.Model));
        Assert.All(chunks, c => Assert.NotNull(c!.CreatedAt));
        var done = Assert.IsType<ChatDoneResponseStream>(chunks[^1]);
        Assert.True(done.Done);
        Assert.Equal("length", done.DoneReason);
        Assert.Equal(6, done.EvalCount);
        Assert.True(done.PromptEvalCount > 5, $"prompt_eval_count {done.PromptEvalCount}");
        Assert.True(done.EvalDuration > 0 && done.PromptEvalDuration > 0 && done.LoadDuration > 0);
        Assert.True(done.TotalDuration >= done.LoadDuration + done.PromptEvalDuration + done.EvalDuration);
        // Nanoseconds: a tiny model answers in well under a minute, and in more than a microsecond.
        Assert.InRange(done.TotalDuration, 1_000, 60_000_000_000);
    }

    [Fact]
    public async Task Generate_RawPrompt_StreamedAndWhole_MatchTheCompletionsSurface()
    {
        using var openAi = await shared.Gateway.Http.PostAsync("/v1/completions", Json(new { model = "stories", prompt = "Once upon a time", max_tokens = 9, temperature = 0, top_p = 0.9, top_k = 40, repeat_penalty = 1.1 }));
        var expected = JsonDocument.Parse(await openAi.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].GetProperty("text").GetString();

        foreach (var stream in new[] { true, false })
        {
            var pieces = new List<GenerateResponseStream?>();
            await foreach (var piece in _client.GenerateAsync(new GenerateRequest { Model = "stories", Prompt = "Once upon a time", Raw = true, Stream = stream, Options = new RequestOptions { Temperature = 0, NumPredict = 9 } }))
            {
                pieces.Add(piece);
            }

            Assert.Equal(expected, string.Concat(pieces.Select(p => p!.Response)));
            var done = Assert.IsType<GenerateDoneResponseStream>(pieces[^1]);
            Assert.Equal(9, done.EvalCount);
            Assert.True(stream ? pieces.Count > 2 : pieces.Count == 1, $"{pieces.Count} pieces when stream={stream}");
        }
    }

    [Fact]
    public async Task Generate_WithSystem_GoesThroughTheChatTemplate()
    {
        var expected = await OpenAiChatAsync(shared.Gateway.Http, "chat", "Once", 7);
        // The same request with a system message must differ from the plain one, or the system text was lost.
        using var withSystem = await shared.Gateway.Http.PostAsync("/v1/chat/completions", Json(new
        {
            model = "chat",
            messages = new[] { new { role = "system", content = "Be brief." }, new { role = "user", content = "Once" } },
            max_tokens = 7, temperature = 0, top_p = 0.9, top_k = 40, repeat_penalty = 1.1,
        }));
        var systemUsage = JsonDocument.Parse(await withSystem.Content.ReadAsStringAsync()).RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();

        var plain = await _client.GenerateAsync(new GenerateRequest { Model = "chat", Prompt = "Once", Stream = false, Options = new RequestOptions { Temperature = 0, NumPredict = 7 } }).StreamToEndAsync();
        var system = await _client.GenerateAsync(new GenerateRequest { Model = "chat", Prompt = "Once", System = "Be brief.", Stream = false, Options = new RequestOptions { Temperature = 0, NumPredict = 7 } }).StreamToEndAsync();

        Assert.Equal(expected.Text, plain!.Response);
        Assert.Equal(expected.Prompt, Assert.IsType<GenerateDoneResponseStream>(plain).PromptEvalCount);
        Assert.Equal(systemUsage, Assert.IsType<GenerateDoneResponseStream>(system).PromptEvalCount);
    }

    [Fact]
    public async Task Generate_OnlyAModel_IsOllamasLoadCall()
    {
        var answers = new List<GenerateResponseStream?>();
        await foreach (var answer in _client.GenerateAsync(new GenerateRequest { Model = "chat:latest" }))
        {
            answers.Add(answer);
        }

        var done = Assert.IsType<GenerateDoneResponseStream>(Assert.Single(answers));
        Assert.True(done.Done);
        Assert.Equal("load", done.DoneReason);
        Assert.Equal("", done.Response);
    }

    [Fact]
    public async Task Embed_SameVectorsAsTheOpenAiSurface_OnePerInput()
    {
        string[] inputs = ["hello world", "the cat sat"];
        using var openAi = await shared.Gateway.Http.PostAsync("/v1/embeddings", Json(new { model = "bert", input = inputs }));
        var expected = JsonDocument.Parse(await openAi.Content.ReadAsStringAsync()).RootElement.GetProperty("data").EnumerateArray()
            .Select(d => d.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToList();

        var response = await _client.EmbedAsync(new EmbedRequest { Model = "bert", Input = [.. inputs] });

        Assert.Equal(2, response.Embeddings.Count);
        Assert.Equal(expected[0], response.Embeddings[0]);
        Assert.Equal(expected[1], response.Embeddings[1]);
        Assert.Equal(128, response.Embeddings[0].Length);
        Assert.True(response.PromptEvalCount > 2);
        Assert.True(response.TotalDuration > 0);

        IEmbeddingGenerator<string, Embedding<float>> generator = _client;
        var generated = await generator.GenerateAsync(["hello world"], new EmbeddingGenerationOptions { ModelId = "bert:latest" });
        Assert.Equal(expected[0], generated.Single().Vector.ToArray());
    }

    [Fact]
    public async Task ShowModel_ReportsTheGgufMetadataTemplateAndCapabilities()
    {
        var gguf = GgufReader.Read(TestModels.StoriesChat);

        var chat = await _client.ShowModelAsync(new ShowModelRequest { Model = "chat:latest" });
        var bert = await _client.ShowModelAsync(new ShowModelRequest { Model = "bert" });

        Assert.Equal(gguf.Info.Architecture, chat.Info.Architecture);
        Assert.Equal(gguf.Info.ParameterCount, chat.Info.ParameterCount);
        Assert.Equal(gguf.Info.ContextLength, ((JsonElement)chat.Info.ExtraInfo![$"{gguf.Info.Architecture}.context_length"]).GetInt32());
        // Arrays (the vocabulary) are left out unless asked for with verbose, as Ollama does.
        Assert.True(chat.Info.ExtraInfo.TryGetValue("tokenizer.ggml.tokens", out var tokens));
        Assert.Null(tokens);
        Assert.Equal(gguf.Info.ChatTemplate, chat.Template);
        Assert.Equal(gguf.Info.Architecture, chat.Details.Family);
        Assert.Contains("num_ctx", chat.Parameters, StringComparison.Ordinal);
        Assert.Equal(["completion"], chat.Capabilities!);
        Assert.Equal(["embedding"], bert.Capabilities!);
        Assert.Equal("bert", bert.Info.Architecture);
    }

    [Fact]
    public async Task ListRunningModels_ReadyWorkersWithoutVramThatDoNotExpire()
    {
        var running = (await _client.ListRunningModelsAsync()).ToList();

        var chat = running.Single(m => m.Name == "chat:latest");
        Assert.Equal(0, chat.SizeVram);
        Assert.Equal(new FileInfo(TestModels.StoriesChat).Length, chat.Size);
        // Ollama reports a model that never unloads with an expiry centuries away.
        Assert.True(chat.ExpiresAt.ToUniversalTime() > TimeProvider.System.GetUtcNow().UtcDateTime.AddYears(100), $"expires_at {chat.ExpiresAt:o}");
        Assert.Equal(4, running.Count);
    }

    [Fact]
    public async Task Tools_AreRefusedInTheWayTheClientRecognises()
    {
        IChatClient chat = _client;
        var options = new ChatOptions { ModelId = "chat", Tools = [AIFunctionFactory.Create((string city) => "sunny", "weather")] };

        await Assert.ThrowsAsync<ModelDoesNotSupportToolsException>(() => chat.GetResponseAsync("What is the weather?", options));
    }

    [Fact]
    public async Task UnknownModel_IsA404()
    {
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => _client.ShowModelAsync(new ShowModelRequest { Model = "nope" }));
        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
    }
}
