using System.Net;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Api;

[Collection(SharedGatewayGroup.Name)]
public sealed class CompletionsTests(SharedGateway shared)
{
    // Greedy continuation of "Once upon a time" by stories260K (BOS added), as recorded in shared/models/MODELS.md.
    private const string Expected40 = ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.";

    private readonly GatewayProcess _gateway = shared.Gateway;

    private async Task<JsonElement> PostAsync(string json)
    {
        using var response = await _gateway.Http.PostAsync("/v1/completions", new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task Complete_Greedy_MatchesReferenceContinuation()
    {
        var body = await PostAsync("""{"model":"stories","prompt":"Once upon a time","max_tokens":40,"temperature":0}""");

        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.Equal(Expected40, body.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("length", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(5, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(40, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Complete_StopString_CutsBeforeStopAndReportsStop()
    {
        var body = await PostAsync("""{"model":"stories","prompt":"Once upon a time","max_tokens":60,"temperature":0,"stop":[" Lily"]}""");

        Assert.Equal(", there was a little girl named", body.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("stop", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Complete_StopStringStreamed_NeverLeaksPartOfStop()
    {
        var json = """{"model":"stories","prompt":"Once upon a time","max_tokens":60,"temperature":0,"stop":["park."],"stream":true}""";
        using var response = await _gateway.Http.PostAsync("/v1/completions", new StringContent(json, Encoding.UTF8, "application/json"));
        var events = await Sse.ReadEventsAsync(response);

        Assert.Equal(", there was a little girl named Lily. She loved to play outside in the ", Sse.Content(events, chat: false));
        Assert.Equal("[DONE]", events[^1]);
    }

    [Fact]
    public async Task Complete_MaxTokens_IsRespectedExactly()
    {
        foreach (var n in new[] { 1, 7, 33 })
        {
            var body = await PostAsync($$"""{"model":"stories","prompt":"The dog","max_tokens":{{n}},"temperature":0}""");
            Assert.Equal(n, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.Equal("length", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        }
    }

    [Fact]
    public async Task Complete_WithoutMaxTokens_StopsAtContextEnd()
    {
        // "tiny" asks for 128 tokens per sequence; llama.cpp may round that up, so read what the engine got.
        var workers = JsonDocument.Parse(await _gateway.Http.GetStringAsync("/admin/workers")).RootElement.GetProperty("workers");
        var context = workers.EnumerateArray().Single(w => w.GetProperty("name").GetString() == "tiny").GetProperty("engine").GetProperty("contextPerSequence").GetInt32();
        var body = await PostAsync("""{"model":"tiny","prompt":"Once upon a time","temperature":0}""");

        var usage = body.GetProperty("usage");
        Assert.InRange(context, 128, 512);
        Assert.Equal("length", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(context, usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32());
    }
}
