using System.Net;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;
using OpenAI.Chat;

namespace Enclave.Tests.Api;

[Collection(SharedGatewayGroup.Name)]
public sealed class ChatCompletionsTests(SharedGateway shared)
{
    private readonly GatewayProcess _gateway = shared.Gateway;

    private static readonly ChatCompletionOptions Greedy20 = new() { MaxOutputTokenCount = 20, Temperature = 0f };

    [Fact]
    public async Task CompleteChat_OfficialSdk_ReturnsTextAndUsage()
    {
        var chat = _gateway.OpenAi.GetChatClient("chat");

        ChatCompletion completion = await chat.CompleteChatAsync(
            [new SystemChatMessage("You are a storyteller."), new UserChatMessage("Tell me a story about a cat.")], Greedy20);

        Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(20, completion.Usage.OutputTokenCount);
        Assert.True(completion.Usage.InputTokenCount > 20);
        Assert.Equal(completion.Usage.InputTokenCount + 20, completion.Usage.TotalTokenCount);
        Assert.Equal("chat", completion.Model);
    }

    [Fact]
    public async Task CompleteChatStreaming_OfficialSdk_StreamsSameTextAsNonStreaming()
    {
        var chat = _gateway.OpenAi.GetChatClient("chat");
        ChatMessage[] messages = [new UserChatMessage("What is the capital of France?")];
        ChatCompletion whole = await chat.CompleteChatAsync(messages, Greedy20);

        var text = new StringBuilder();
        var updates = 0;
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, Greedy20))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.True(updates > 5, $"expected many streamed updates, got {updates}");
        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.NotNull(usage);
        Assert.Equal(20, usage!.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
    }

    [Fact]
    public async Task Stream_RawWire_FollowsOpenAiFraming()
    {
        var body = """{"model":"chat","messages":[{"role":"user","content":"Hi"}],"max_tokens":6,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}""";
        using var response = await _gateway.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.Contains("x-request-id"));
        var events = await Sse.ReadEventsAsync(response);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var usageChunk = chunks[^1];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        Assert.Equal(6, usageChunk.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.All(chunks[..^1], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("usage").ValueKind));
    }

    [Fact]
    public async Task Stream_WithoutIncludeUsage_HasNoUsageChunk()
    {
        var body = """{"model":"chat","messages":[{"role":"user","content":"Hi"}],"max_tokens":3,"temperature":0,"stream":true}""";
        using var response = await _gateway.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var events = await Sse.ReadEventsAsync(response);

        Assert.Equal("[DONE]", events[^1]);
        Assert.All(events[..^1], e => Assert.False(JsonDocument.Parse(e).RootElement.TryGetProperty("usage", out _)));
        Assert.All(events[..^1], e => Assert.Equal(1, JsonDocument.Parse(e).RootElement.GetProperty("choices").GetArrayLength()));
    }

    [Fact]
    public async Task CompleteChat_SameSeed_IsRepeatable()
    {
        var chat = _gateway.OpenAi.GetChatClient("chat");
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 30, Temperature = 0.9f, TopP = 0.95f };
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK.
        options.Seed = 1234;
#pragma warning restore OPENAI001
        ChatMessage[] messages = [new UserChatMessage("Tell me a story about a dog.")];

        ChatCompletion first = await chat.CompleteChatAsync(messages, options);
        ChatCompletion second = await chat.CompleteChatAsync(messages, options);

        Assert.Equal(first.Content[0].Text, second.Content[0].Text);
    }

    [Fact]
    public async Task CompleteChat_DifferentSeeds_SampleDifferentText()
    {
        var chat = _gateway.OpenAi.GetChatClient("chat");
        ChatMessage[] messages = [new UserChatMessage("Tell me a story about a dog.")];
        var texts = new HashSet<string>();
        for (var seed = 1; seed <= 4; seed++)
        {
            var options = new ChatCompletionOptions { MaxOutputTokenCount = 30, Temperature = 1.0f };
#pragma warning disable OPENAI001
            options.Seed = seed;
#pragma warning restore OPENAI001
            ChatCompletion c = await chat.CompleteChatAsync(messages, options);
            texts.Add(c.Content[0].Text);
        }

        Assert.True(texts.Count > 1, "four different seeds all produced the same text");
    }
}
