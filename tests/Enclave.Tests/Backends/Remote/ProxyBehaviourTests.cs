using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using static Enclave.Tests.Backends.Remote.RemoteApi;

namespace Enclave.Tests.Backends.Remote;

/// <summary>What the gateway sends upstream and relays back: the body (model rewritten, the rest untouched), usage, credentials, trace context.</summary>
public sealed partial class ProxyBehaviourTests(WallGatewayFixture fixture) : IClassFixture<WallGatewayFixture>
{
    private static CancellationTokenSource Budget() => new(TimeSpan.FromSeconds(40));

    private const string OddFields = """
        {"model":"chat","messages":[{"role":"user","content":"hello there","x_msg_meta":{"k":[1,2]}}],"max_tokens":5,"temperature":0.25,
         "seed":7,"logit_bias":{"50256":-100},"x_vendor":{"nested":[1,2.50,"s",null,true,{"deep":1e2}]},"metadata":{"user":"u1"},"top_k":40,"repetition_penalty":1.05}
        """;

    [Fact]
    public async Task Body_ModelRewrittenToTheUpstreamName_EveryOtherFieldPreservedByteForValue()
    {
        var (wall, gateway) = (fixture.Wall, fixture.Gateway);
        using var cts = Budget();

        var (status, body, _, _) = await SendAsync(gateway, OddFields, cts.Token);
        Assert.True(status == 200, $"{status}: {Trim(body)}");

        var sent = JsonDocument.Parse(OddFields).RootElement;
        var upstream = wall.Inference[^1].Json;
        Assert.Equal("upstream-llm", upstream.GetProperty("model").GetString());
        Assert.Equal(sent.EnumerateObject().Select(p => p.Name).Order(), upstream.EnumerateObject().Select(p => p.Name).Order());
        foreach (var field in sent.EnumerateObject().Where(p => p.Name != "model"))
        {
            Assert.Equal(field.Value.GetRawText(), upstream.GetProperty(field.Name).GetRawText());
        }

        // The answer names the upstream model that produced it.
        Assert.Equal("upstream-llm", JsonDocument.Parse(body).RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Responses_AreRelayedAsTheUpstreamSentThem_WholeAndStreamed()
    {
        var (wall, gateway) = (fixture.Wall, fixture.Gateway);
        using var cts = Budget();

        var (_, body, _, _) = await SendAsync(gateway, Chat("chat"), cts.Token);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(wall.Inference[^1].Events.Single()), JsonNode.Parse(body)), $"client got {Trim(body)}");

        using var response = await PostAsync(gateway, Chat("chat", stream: true, extra: b => b["stream_options"] = new JsonObject { ["include_usage"] = true }), cts.Token);
        var events = await ReadEventsAsync(response, cts.Token);
        Assert.Equal(wall.Inference[^1].Events, events.Select(e => e.Data));
    }

    [Fact]
    public async Task IncludeUsage_AlwaysAskedUpstream_UsageChunkStrippedWhenTheClientDidNotAsk_LedgerStillCounts()
    {
        var (wall, gateway) = (fixture.Wall, fixture.Gateway);
        using var cts = Budget();

        foreach (var asked in (JsonObject?[])[null, new JsonObject { ["include_usage"] = false }])
        {
            using var response = await PostAsync(gateway, Chat("chat", stream: true, maxTokens: 3, extra: b => b["stream_options"] = asked?.DeepClone()), cts.Token);
            var events = await ReadEventsAsync(response, cts.Token);
            var upstream = wall.Inference[^1].Json;
            Assert.True(upstream.GetProperty("stream_options").GetProperty("include_usage").GetBoolean(), "the gateway must ask the upstream for usage on streams");
            Assert.Null(UsageChunk(events));
            Assert.True(events[^1].IsDone);
            Assert.Equal(FaultUpstream.ContentOf(3), Content(events));
            Assert.Equal(3, (await LedgerAsync(gateway, RequestId(response))).CompletionTokens);
        }

        using var withUsage = await PostAsync(gateway, Chat("chat", stream: true, maxTokens: 3, extra: b => b["stream_options"] = new JsonObject { ["include_usage"] = true }), cts.Token);
        var usage = UsageChunk(await ReadEventsAsync(withUsage, cts.Token))?.GetProperty("usage");
        Assert.Equal(3, usage?.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(FaultUpstream.PromptTokens(wall.Inference[^1].Json), usage?.GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task UpstreamWithoutUsage_CompletionTokensCountedFromContentChunks()
    {
        var gateway = fixture.Gateway;
        using var cts = Budget();

        using var response = await PostAsync(gateway, Chat("no-usage", stream: true, maxTokens: 9), cts.Token);
        var events = await ReadEventsAsync(response, cts.Token);

        Assert.True(events[^1].IsDone);
        var row = await LedgerAsync(gateway, RequestId(response));
        Assert.Equal((200, (string?)null, 9), (row.Status, row.ErrorCode, row.CompletionTokens));
    }

    [Fact]
    public async Task CompletionsAndEmbeddings_GoToTheSamePathUpstream()
    {
        var (wall, gateway) = (fixture.Wall, fixture.Gateway);
        using var cts = Budget();

        var (status, body, _, _) = await SendAsync(gateway, """{"model":"text-llm","prompt":"Once upon","max_tokens":4}""", cts.Token, "/v1/completions");
        Assert.True(status == 200, $"{status}: {Trim(body)}");
        Assert.Equal(FaultUpstream.ContentOf(4), JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("text").GetString());
        using (var streamed = await PostAsync(gateway, """{"model":"text-llm","prompt":"Once upon","max_tokens":4,"stream":true}""", cts.Token, "/v1/completions"))
        {
            var events = await ReadEventsAsync(streamed, cts.Token);
            Assert.True(events[^1].IsDone);
            Assert.Equal(FaultUpstream.ContentOf(4), Content(events));
        }

        (status, body, _, _) = await SendAsync(gateway, """{"model":"embedder","input":["a b","c"]}""", cts.Token, "/v1/embeddings");
        Assert.True(status == 200, $"{status}: {Trim(body)}");
        Assert.Equal(2, JsonDocument.Parse(body).RootElement.GetProperty("data").GetArrayLength());
        Assert.Equal(["/v1/completions", "/v1/completions", "/v1/embeddings"], wall.Inference.TakeLast(3).Select(r => r.Path).ToArray());
    }

    [Fact]
    public async Task Credentials_FromApiKeyEnvAndApiKeyFile_SentAsBearer_ClientKeyNeverForwarded_NeverLogged()
    {
        var envKey = "sk-wall-env-" + Guid.NewGuid().ToString("N");
        var fileKey = "sk-wall-file-" + Guid.NewGuid().ToString("N");
        var keyFile = Path.Combine(Path.GetTempPath(), "enclave-wall-key-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(keyFile, fileKey + "\n");
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        const string clientKey = "client-secret-0123456789";
        await using var envWall = await FaultUpstream.StartAsync("envwall", "env-model", "env-broken");
        await using var fileWall = await FaultUpstream.StartAsync("filewall", "file-model");
        envWall.RequiredApiKey = envKey;
        fileWall.RequiredApiKey = fileKey;
        envWall.Serve("env-broken", FaultSpec.Parse("f4-503"));
        var setup = new RemoteSetup()
            .Backend("envkeyed", envWall, "env-model", "env-broken").Set("Backends:envkeyed:ApiKeyEnv", "WALL_UPSTREAM_KEY")
            .Backend("filekeyed", fileWall, "file-model").Set("Backends:filekeyed:ApiKeyFile", keyFile)
            .Set("Logging:LogLevel:Default", "Trace");
        var environment = new Dictionary<string, string>(setup.Environment) { ["WALL_UPSTREAM_KEY"] = envKey };
        var gateway = await Infrastructure.GatewayProcess.StartAsync([], environment, waitReady: false);
        var models = "";
        try
        {
            await RemoteSetup.WaitForModelsAsync(gateway, ["env-model", "file-model"], TimeSpan.FromSeconds(30));
            using var cts = Budget();
            void ClientKey(HttpRequestMessage r) => r.Headers.TryAddWithoutValidation("Authorization", "Bearer " + clientKey);
            foreach (var model in (string[])["env-model", "file-model"])
            {
                foreach (var stream in (bool[])[false, true])
                {
                    var (status, body, _, _) = await SendAsync(gateway, Chat(model, stream), cts.Token, configure: ClientKey);
                    Assert.True(status == 200, $"{model} stream={stream}: {status} {Trim(body)}");
                }
            }

            Assert.Equal(503, (await SendAsync(gateway, Chat("env-broken"), cts.Token, configure: ClientKey)).Status);
            models = await gateway.Http.GetStringAsync("/v1/models", cts.Token);
        }
        finally
        {
            await gateway.DisposeAsync();
            File.Delete(keyFile);
        }

        Assert.All(envWall.Inference, r => Assert.Equal("Bearer " + envKey, r.Authorization));
        Assert.All(fileWall.Inference, r => Assert.Equal("Bearer " + fileKey, r.Authorization));
        Assert.DoesNotContain(envWall.Requests.Concat(fileWall.Requests), r => (r.Authorization + r.Body).Contains(clientKey, StringComparison.Ordinal));
        foreach (var key in (string[])[envKey, fileKey])
        {
            Assert.DoesNotContain(key, gateway.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(key, models, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Traceparent_ClientsTraceContinuesToTheUpstream_WithTheGatewaysOwnParentSpan()
    {
        var (wall, gateway) = (fixture.Wall, fixture.Gateway);
        using var cts = Budget();

        foreach (var stream in (bool[])[false, true])
        {
            var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
            const string clientSpan = "00f067aa0ba902b7";
            var (status, body, _, _) = await SendAsync(gateway, Chat("chat", stream), cts.Token,
                configure: r => r.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{clientSpan}-01"));
            Assert.True(status == 200, $"{status}: {Trim(body)}");

            var sent = wall.Inference[^1].Traceparent;
            Assert.True(sent is not null, "the upstream request carried no traceparent");
            var match = Traceparent().Match(sent);
            Assert.True(match.Success, $"malformed traceparent upstream: '{sent}'");
            Assert.Equal(traceId, match.Groups["trace"].Value);
            Assert.NotEqual(clientSpan, match.Groups["parent"].Value);
        }
    }

    [GeneratedRegex("^00-(?<trace>[0-9a-f]{32})-(?<parent>[0-9a-f]{16})-0[0-9a-f]$")]
    private static partial Regex Traceparent();
}
