using System.Net;
using System.Text.Json;
using Enclave.Tests.Infrastructure;
using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Chat;
using static Enclave.Tests.Ollama.OllamaTestSupport;

namespace Enclave.Tests.Ollama;

/// <summary>
/// The Ollama surface in front of a remote backend: gateway A has no local model and serves <c>far</c> through
/// gateway B (an <c>enclave</c> backend), so requests take the remote relay rather than a local worker's.
/// </summary>
public sealed class OllamaRemoteBackendTests
{
    [Fact]
    public async Task RemoteModel_IsListed_AndChatAndGenerateAnswerThroughTheRemoteBackend()
    {
        var urlB = $"http://127.0.0.1:{GatewayProcess.FreeTcpPort()}";
        await using var b = await GatewayProcess.StartAsync([new ModelSpec("far", TestModels.Stories)], urls: urlB);
        await using var a = await GatewayProcess.StartAsync([], new Dictionary<string, string>
        {
            ["ENCLAVE__Backends__b__Kind"] = "Enclave",
            ["ENCLAVE__Backends__b__BaseUrl"] = urlB,
        });
        using var client = new OllamaApiClient(new HttpClient { BaseAddress = a.BaseUrl, Timeout = TimeSpan.FromSeconds(60) });
        List<Model> models = [];
        await WaitUntilAsync(async () => (models = [.. await client.ListLocalModelsAsync()]).Count > 0, TimeSpan.FromSeconds(30));

        var far = Assert.Single(models);
        Assert.Equal("far:latest", far.Name);
        Assert.Equal(("", 0L, ""), (far.Digest, far.Size, far.Details.Format));

        // The same greedy answer as B's own completions surface.
        using var direct = await b.Http.PostAsync("/v1/completions", Json(new { model = "far", prompt = "Once upon a time", max_tokens = 6, temperature = 0, top_p = 0.9, top_k = 40, repeat_penalty = 1.1 }));
        var expected = JsonDocument.Parse(await direct.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].GetProperty("text").GetString();
        var pieces = new List<GenerateResponseStream?>();
        await foreach (var piece in client.GenerateAsync(new GenerateRequest { Model = "far:latest", Prompt = "Once upon a time", Raw = true, Options = new RequestOptions { Temperature = 0, NumPredict = 6 } }))
        {
            pieces.Add(piece);
        }

        Assert.Equal(expected, string.Concat(pieces.Select(p => p!.Response)));
        Assert.Equal(6, Assert.IsType<GenerateDoneResponseStream>(pieces[^1]).EvalCount);

        var chat = await client.ChatAsync(new ChatRequest { Model = "far", Messages = [new Message(ChatRole.User, "Hi")], Stream = false, Options = new RequestOptions { NumPredict = 4 } }).StreamToEndAsync();
        Assert.Equal(4, Assert.IsType<ChatDoneResponseStream>(chat).EvalCount);

        using var raw = await a.Http.PostAsync("/api/chat", RawJson("""{"model":"far","messages":[{"role":"user","content":"Hi"}],"options":{"num_predict":3}}"""));
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal("b", raw.Headers.GetValues("x-enclave-backend").Single());
        var done = (await ReadNdjsonAsync(raw))[^1];
        Assert.True(done.GetProperty("done").GetBoolean());
        var row = Assert.Single(await LedgerRowsAsync(a.DataDir, RequestId(raw)));
        Assert.Equal(("/api/chat", "b", "far"), (row.Route, row.Backend, row.Model));
        Assert.Equal(done.GetProperty("prompt_eval_count").GetInt32(), row.PromptTokens);
        Assert.Equal(3, row.CompletionTokens);

        using var show = await a.Http.PostAsync("/api/show", RawJson("""{"model":"far"}"""));
        Assert.Equal(HttpStatusCode.OK, show.StatusCode);
        Assert.Empty(JsonDocument.Parse(await show.Content.ReadAsStringAsync()).RootElement.GetProperty("model_info").EnumerateObject());
    }
}
