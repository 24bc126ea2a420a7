using System.Net;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;
using static Enclave.Tests.Ollama.OllamaTestSupport;

namespace Enclave.Tests.Ollama;

/// <summary>The Ollama surface on the wire: NDJSON framing, error shapes and status codes, and the usage ledger.</summary>
[Collection(SharedGatewayGroup.Name)]
public sealed class OllamaHttpTests(SharedGateway shared)
{
    private GatewayProcess Gateway => shared.Gateway;

    [Fact]
    public async Task Chat_StreamsByDefault_AsNdjsonWithOneObjectPerLineAndAFinalDoneLine()
    {
        using var response = await Gateway.Http.PostAsync("/api/chat", RawJson("""{"model":"chat:latest","messages":[{"role":"user","content":"Hi"}],"options":{"temperature":0,"num_predict":8}}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = await ReadNdjsonAsync(response);
        Assert.True(lines.Count >= 3, $"{lines.Count} lines");
        foreach (var line in lines[..^1])
        {
            Assert.False(line.GetProperty("done").GetBoolean());
            Assert.Equal("chat:latest", line.GetProperty("model").GetString());
            Assert.Equal("assistant", line.GetProperty("message").GetProperty("role").GetString());
            Assert.NotEqual("", line.GetProperty("message").GetProperty("content").GetString());
            Assert.True(DateTimeOffset.TryParse(line.GetProperty("created_at").GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _));
        }

        var done = lines[^1];
        Assert.True(done.GetProperty("done").GetBoolean());
        Assert.Equal("length", done.GetProperty("done_reason").GetString());
        Assert.Equal("", done.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(8, done.GetProperty("eval_count").GetInt32());
        Assert.True(done.GetProperty("prompt_eval_count").GetInt32() > 0);
        foreach (var field in new[] { "total_duration", "load_duration", "prompt_eval_duration", "eval_duration" })
        {
            Assert.True(done.GetProperty(field).GetInt64() > 0, field);
        }
    }

    [Fact]
    public async Task Chat_NotStreamed_IsOneJsonObjectWithTheWholeAnswer()
    {
        var expected = await OpenAiChatAsync(Gateway.Http, "chat", "Hi", 8);

        using var response = await Gateway.Http.PostAsync("/api/chat", RawJson("""{"model":"chat","stream":false,"messages":[{"role":"user","content":"Hi"}],"options":{"temperature":0,"num_predict":8}}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(body.GetProperty("done").GetBoolean());
        Assert.Equal(expected.Text, body.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(expected.Prompt, body.GetProperty("prompt_eval_count").GetInt32());
        Assert.Equal(expected.Completion, body.GetProperty("eval_count").GetInt32());
    }

    [Fact]
    public async Task Generate_BodyWithoutJsonContentType_IsAcceptedAsOllamaDoes()
    {
        // curl -d sends application/x-www-form-urlencoded; Ollama reads the body as JSON regardless.
        using var content = new StringContent("""{"model":"stories","prompt":"Once","raw":true,"stream":false,"options":{"num_predict":3}}""", Encoding.UTF8, "application/x-www-form-urlencoded");
        using var response = await Gateway.Http.PostAsync("/api/generate", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("eval_count").GetInt32());
    }

    public static TheoryData<string, string, string, int, string> Errors() => new()
    {
        { "unknown model", "/api/chat", """{"model":"nope","messages":[{"role":"user","content":"x"}]}""", 404, "model 'nope' not found" },
        { "unknown model, load call", "/api/generate", """{"model":"nope"}""", 404, "model 'nope' not found" },
        { "unknown model, embed", "/api/embed", """{"model":"nope:7b","input":"x"}""", 404, "model 'nope:7b' not found" },
        { "malformed JSON", "/api/chat", """{"model":"chat","messages":[""", 400, "not valid JSON" },
        { "missing model", "/api/generate", """{"prompt":"x"}""", 400, "model is required" },
        { "model not a string", "/api/chat", """{"model":7,"messages":[]}""", 400, "'model'" },
        { "format json", "/api/generate", """{"model":"chat","prompt":"x","format":"json"}""", 400, "format" },
        { "format schema", "/api/chat", """{"model":"chat","messages":[{"role":"user","content":"x"}],"format":{"type":"object"}}""", 400, "format" },
        { "thinking", "/api/chat", """{"model":"chat","messages":[{"role":"user","content":"x"}],"think":true}""", 400, "does not support thinking" },
        { "images", "/api/chat", """{"model":"chat","messages":[{"role":"user","content":"x","images":["aGk="]}]}""", 400, "does not support images" },
        { "stream not a boolean", "/api/chat", """{"model":"chat","messages":[],"stream":"yes"}""", 400, "stream must be true or false" },
        { "num_predict too large", "/api/generate", """{"model":"chat","prompt":"x","options":{"num_predict":100000000}}""", 400, "'options.num_predict'" },
        { "temperature out of range", "/api/generate", """{"model":"chat","prompt":"x","options":{"temperature":7}}""", 400, "'options.temperature'" },
        { "options not an object", "/api/generate", """{"model":"chat","prompt":"x","options":[1]}""", 400, "options must be an object" },
        { "mirostat", "/api/generate", """{"model":"chat","prompt":"x","options":{"mirostat":2}}""", 400, "options.mirostat" },
        { "bad keep_alive", "/api/generate", """{"model":"chat","keep_alive":"soon"}""", 400, "keep_alive" },
        { "chat on an embedding model", "/api/chat", """{"model":"bert","messages":[{"role":"user","content":"x"}]}""", 400, "model 'bert' does not support chat" },
        { "context too long", "/api/generate", "{\"model\":\"tiny\",\"raw\":true,\"prompt\":\"" + string.Concat(Enumerable.Repeat("story time ", 400)) + "\"}", 400, "context length" },
        { "empty embedding input", "/api/embed", """{"model":"bert","input":["ok",""]}""", 400, "must not be empty" },
        { "backend-steering field", "/api/chat", """{"model":"chat","messages":[],"api_base":"http://elsewhere"}""", 400, "api_base" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task BadRequest_GetsOllamasErrorObjectAndStatus(string row, string path, string body, int status, string message)
    {
        using var response = await Gateway.Http.PostAsync(path, RawJson(body));
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(status == (int)response.StatusCode, $"{row}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(text).RootElement;
        Assert.Equal(JsonValueKind.String, Assert.Single(error.EnumerateObject(), p => p.Name == "error").Value.ValueKind);
        Assert.Single(error.EnumerateObject());
        Assert.Contains(message, error.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.True(response.Headers.Contains("x-request-id"));
    }

    [Fact]
    public async Task EveryRequest_LeavesExactlyOneLedgerRecordWithItsRouteAndTokenCounts()
    {
        var checks = new List<(string Id, string Route, string Model, int Status, int Prompt, int Completion, string? Error)>();

        using (var streamed = await Gateway.Http.PostAsync("/api/chat", RawJson("""{"model":"chat","messages":[{"role":"user","content":"Hi"}],"options":{"num_predict":5}}""")))
        {
            var done = (await ReadNdjsonAsync(streamed))[^1];
            checks.Add((RequestId(streamed), "/api/chat", "chat", 200, done.GetProperty("prompt_eval_count").GetInt32(), done.GetProperty("eval_count").GetInt32(), null));
        }

        using (var whole = await Gateway.Http.PostAsync("/api/generate", RawJson("""{"model":"stories:latest","prompt":"The dog","raw":true,"stream":false,"options":{"num_predict":4}}""")))
        {
            var done = JsonDocument.Parse(await whole.Content.ReadAsStringAsync()).RootElement;
            checks.Add((RequestId(whole), "/api/generate", "stories", 200, done.GetProperty("prompt_eval_count").GetInt32(), done.GetProperty("eval_count").GetInt32(), null));
        }

        using (var embed = await Gateway.Http.PostAsync("/api/embed", RawJson("""{"model":"bert","input":["one two","three"]}""")))
        {
            var done = JsonDocument.Parse(await embed.Content.ReadAsStringAsync()).RootElement;
            checks.Add((RequestId(embed), "/api/embed", "bert", 200, done.GetProperty("prompt_eval_count").GetInt32(), 0, null));
        }

        using (var legacy = await Gateway.Http.PostAsync("/api/embeddings", RawJson("""{"model":"bert","prompt":"one two"}""")))
        {
            Assert.Equal(128, JsonDocument.Parse(await legacy.Content.ReadAsStringAsync()).RootElement.GetProperty("embedding").GetArrayLength());
            checks.Add((RequestId(legacy), "/api/embeddings", "bert", 200, -1, 0, null));
        }

        using (var load = await Gateway.Http.PostAsync("/api/chat", RawJson("""{"model":"chat","messages":[]}""")))
        {
            Assert.Equal("load", JsonDocument.Parse(await load.Content.ReadAsStringAsync()).RootElement.GetProperty("done_reason").GetString());
            checks.Add((RequestId(load), "/api/chat", "chat", 200, 0, 0, null));
        }

        using (var missing = await Gateway.Http.PostAsync("/api/generate", RawJson("""{"model":"nope","prompt":"x"}""")))
        {
            checks.Add((RequestId(missing), "/api/generate", "nope", 404, 0, 0, "model_not_found"));
        }

        using (var bad = await Gateway.Http.PostAsync("/api/chat", RawJson("""{"model":"chat","messages":[{"role":"user","content":"x"}],"format":"json"}""")))
        {
            checks.Add((RequestId(bad), "/api/chat", "chat", 400, 0, 0, "unsupported_parameter"));
        }

        foreach (var (id, route, model, status, prompt, completion, error) in checks)
        {
            var row = Assert.Single(await LedgerRowsAsync(Gateway.DataDir, id));
            Assert.Equal(route, row.Route);
            Assert.Equal(model, row.Model);
            Assert.Equal(status, row.Status);
            Assert.Equal(error, row.ErrorCode);
            Assert.Equal(completion, row.CompletionTokens);
            if (prompt >= 0)
            {
                Assert.Equal(prompt, row.PromptTokens);
            }
            else
            {
                Assert.True(row.PromptTokens > 0);
            }
        }
    }

    [Fact]
    public async Task Root_GetAndHead_SayOllamaIsRunning()
    {
        using var get = await Gateway.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("Ollama is running", await get.Content.ReadAsStringAsync());

        using var head = await Gateway.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Show_AcceptsTheOlderNameField_AndVerboseIncludesTheVocabulary()
    {
        var info = Native.Gguf.GgufReader.Read(TestModels.Stories).Info;
        using var response = await Gateway.Http.PostAsync("/api/show", RawJson("""{"name":"stories","verbose":true}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var modelInfo = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("model_info");
        Assert.Equal(info.VocabularySize, modelInfo.GetProperty("tokenizer.ggml.tokens").GetArrayLength());
        Assert.Equal(info.Architecture, modelInfo.GetProperty("general.architecture").GetString());
        var keys = modelInfo.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
    }
}
