using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;

namespace Enclave.Tests.Backends.Remote;

/// <summary>The wall itself, without a gateway: it speaks OpenAI's wire format (the official SDK reads it) and its faults are real.</summary>
public sealed class FaultUpstreamTests
{
    private static OpenAIClient Sdk(FaultUpstream wall) => new(new ApiKeyCredential("wall-key"), new OpenAIClientOptions { Endpoint = new Uri(wall.BaseUrl) });

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, FaultUpstream wall, string json, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, wall.BaseUrl + "/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
    }

    [Fact]
    public async Task Healthy_OfficialSdkReadsModelsChatStreamAndEmbeddings()
    {
        await using var wall = await FaultUpstream.StartAsync("wall", "ok", "other");
        var sdk = Sdk(wall);
        var models = (await sdk.GetOpenAIModelClient().GetModelsAsync()).Value.Select(m => m.Id).ToArray();
        Assert.Equal(["ok", "other"], models);

        var chat = sdk.GetChatClient("ok");
        var whole = (await chat.CompleteChatAsync([new UserChatMessage("one two three")], new ChatCompletionOptions { MaxOutputTokenCount = 4 })).Value;
        Assert.Equal(FaultUpstream.ContentOf(4), whole.Content[0].Text);
        Assert.Equal(4, whole.Usage.OutputTokenCount);
        Assert.Equal(3, whole.Usage.InputTokenCount);
        Assert.Equal(ChatFinishReason.Length, whole.FinishReason);

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("one two")], new ChatCompletionOptions { MaxOutputTokenCount = 6 }))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            usage ??= update.Usage;
            Assert.Equal("ok", update.Model);
        }

        Assert.Equal(FaultUpstream.ContentOf(6), text.ToString());
        Assert.Equal(6, usage?.OutputTokenCount);
        Assert.Contains(wall.Inference, r => r.Json.TryGetProperty("stream_options", out _));

        var embedding = (await sdk.GetEmbeddingClient("ok").GenerateEmbeddingAsync("hello there")).Value;
        Assert.Equal(8, embedding.ToFloats().Length);
        Assert.All(wall.Requests, r => Assert.Equal("Bearer wall-key", r.Authorization));
    }

    [Fact]
    public async Task Stream_WithoutIncludeUsage_HasNoUsageChunk_WithIt_EndsWithUsageThenDone()
    {
        await using var wall = await FaultUpstream.StartAsync("wall", "ok");
        using var http = new HttpClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var plain = await PostAsync(http, wall, RemoteApi.Chat("ok", stream: true), cts.Token);
        var events = await RemoteApi.ReadEventsAsync(plain, cts.Token);
        Assert.Null(RemoteApi.UsageChunk(events));
        Assert.True(events[^1].IsDone);
        Assert.Equal(1 + 5 + 1 + 1, events.Count); // role, 5 tokens, finish, [DONE]

        using var withUsage = await PostAsync(http, wall, RemoteApi.Chat("ok", stream: true, extra: b => b["stream_options"] = new System.Text.Json.Nodes.JsonObject { ["include_usage"] = true }), cts.Token);
        events = await RemoteApi.ReadEventsAsync(withUsage, cts.Token);
        Assert.Equal(5, RemoteApi.UsageChunk(events)!.Value.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.True(events[^1].IsDone);
        Assert.Equal(events[^2].Data, wall.Inference[^1].Events[^2]);
    }

    [Fact]
    public async Task Faults_429Once_Reset_Cut_AndDown_AreWhatTheyClaim()
    {
        await using var wall = await FaultUpstream.StartAsync("wall", "ok");
        using var http = new HttpClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        using (var first = await PostAsync(http, wall, RemoteApi.Chat("f1-429-retry-after-2"), cts.Token))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, first.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(2), first.Headers.RetryAfter?.Delta);
        }

        using (var second = await PostAsync(http, wall, RemoteApi.Chat("f1-429-retry-after-2"), cts.Token))
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        }

        await Assert.ThrowsAsync<HttpRequestException>(() => PostAsync(http, wall, RemoteApi.Chat("f5-rst"), cts.Token));

        using (var cut = await PostAsync(http, wall, RemoteApi.Chat("f8-cut-after-3", stream: true, maxTokens: 10), cts.Token))
        {
            var received = new List<string>();
            var reader = new StreamReader(await cut.Content.ReadAsStreamAsync(cts.Token));
            var error = await Record.ExceptionAsync(async () =>
            {
                while (await reader.ReadLineAsync(cts.Token) is { } line)
                {
                    received.Add(line);
                }
            });
            Assert.True(error is IOException or HttpRequestException, $"a reset stream must fail the reader, got {error?.GetType().Name ?? "a clean end"}");
            Assert.Equal(1 + 3, received.Count(l => l.StartsWith("data: ", StringComparison.Ordinal)));
        }

        wall.GoDown();
        using (var down = await http.GetAsync(wall.BaseUrl + "/models", cts.Token))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        }

        wall.ComeUp();
        using (var up = await http.GetAsync(wall.BaseUrl + "/models", cts.Token))
        {
            Assert.Equal(HttpStatusCode.OK, up.StatusCode);
        }
    }

    [Fact]
    public async Task HugeErrorBody_IsStreamed_AndStopsWhenTheReaderGoesAway()
    {
        await using var wall = await FaultUpstream.StartAsync("wall", "ok");
        using var http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using (var response = await PostAsync(http, wall, RemoteApi.Chat("f13-huge-error"), cts.Token))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Null(response.Content.Headers.ContentLength);
            var buffer = new byte[1024 * 1024];
            await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
            await body.ReadAtLeastAsync(buffer, buffer.Length, cancellationToken: cts.Token);
            Assert.StartsWith("{\"error\":{", Encoding.UTF8.GetString(buffer, 0, 32));
        }

        var request = await wall.WaitForAsync(r => r.AbortedAt != 0, TimeSpan.FromSeconds(10));
        Assert.InRange(request.BytesSent, 1024 * 1024, 50L * 1024 * 1024);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(request.Body).RootElement.ValueKind);
    }
}
