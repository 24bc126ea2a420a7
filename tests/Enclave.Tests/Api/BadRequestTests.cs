using System.Net;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Api;

[Collection(SharedGatewayGroup.Name)]
public sealed class BadRequestTests(SharedGateway shared)
{
    private readonly GatewayProcess _gateway = shared.Gateway;

    public static TheoryData<string, string, int, string?, string?> Cases() => new()
    {
        // path, body, status, code, param
        { "/v1/chat/completions", "not json", 400, null, null },
        { "/v1/chat/completions", "[1,2]", 400, null, null },
        { "/v1/chat/completions", "{}", 400, null, "model" },
        { "/v1/chat/completions", """{"model":42,"messages":[]}""", 400, null, "model" },
        { "/v1/chat/completions", """{"model":"nope","messages":[{"role":"user","content":"x"}]}""", 404, "model_not_found", "model" },
        { "/v1/chat/completions", """{"model":"chat"}""", 400, null, "messages" },
        { "/v1/chat/completions", """{"model":"chat","messages":[]}""", 400, null, "messages" },
        { "/v1/chat/completions", """{"model":"chat","messages":"hi"}""", 400, null, "messages" },
        { "/v1/chat/completions", """{"model":"chat","messages":[{"content":"x"}]}""", 400, null, "messages[0].role" },
        { "/v1/chat/completions", """{"model":"chat","messages":[{"role":"wizard","content":"x"}]}""", 400, null, "messages[0].role" },
        { "/v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":42}]}""", 400, null, "messages[0].content" },
        { "/v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", 400, null, "messages[0].content" },
        { "/v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":"x"}],"max_tokens":0}""", 400, null, "max_tokens" },
        { "/v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":"x"}],"max_tokens":"ten"}""", 400, null, "max_tokens" },
        { "/v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":"x"}],"temperature":3}""", 400, null, "temperature" },
        { "/v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":"x"}],"top_p":1.5}""", 400, null, "top_p" },
        { "/v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":"x"}],"n":2}""", 400, null, "n" },
        { "/v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}""", 400, null, "stop" },
        { "/v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":"x"}],"stop":[1]}""", 400, null, "stop" },
        { "/v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":"x"}],"stream":"yes"}""", 400, null, "stream" },
        { "/v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":"x"}],"stream_options":5}""", 400, null, "stream_options" },
        { "/v1/chat/completions", """{"model":"bert","messages":[{"role":"user","content":"x"}]}""", 400, "model_not_supported", "model" },
        { "/v1/completions", """{"model":"stories"}""", 400, null, "prompt" },
        { "/v1/completions", """{"model":"stories","prompt":["a","b"]}""", 400, null, "prompt" },
        { "/v1/completions", """{"model":"stories","prompt":"x","presence_penalty":9}""", 400, null, "presence_penalty" },
        { "/v1/embeddings", """{"model":"bert"}""", 400, null, "input" },
        { "/v1/embeddings", """{"model":"bert","input":[]}""", 400, null, "input" },
        { "/v1/embeddings", """{"model":"bert","input":[1,2]}""", 400, null, "input" },
        { "/v1/embeddings", """{"model":"bert","input":"x","encoding_format":"hex"}""", 400, null, "encoding_format" },
        { "/v1/embeddings", """{"model":"bert","input":"x","dimensions":3}""", 400, null, "dimensions" },
        { "/v1/embeddings", """{"model":"nope","input":"x"}""", 404, "model_not_found", "model" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Post_BadInput_GetsOpenAiErrorEnvelope(string path, string body, int status, string? code, string? param)
    {
        using var response = await _gateway.Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(status, (int)response.StatusCode);
        Assert.True(response.Headers.Contains("x-request-id"));
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        if (code is not null)
        {
            Assert.Equal(code, error.GetProperty("code").GetString());
        }

        if (param is not null)
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }

        await AssertStillHealthyAsync();
    }

    [Fact]
    public async Task Post_PromptLongerThanContext_Is400ContextLengthExceeded()
    {
        var prompt = string.Join(' ', Enumerable.Repeat("word", 400));
        var body = JsonSerializer.Serialize(new { model = "tiny", prompt, max_tokens = 5 });
        using var response = await _gateway.Http.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("prompt", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Post_ChatLongerThanContext_Is400ContextLengthExceeded()
    {
        var content = string.Join(' ', Enumerable.Repeat("word", 400));
        var body = JsonSerializer.Serialize(new { model = "tiny", messages = new[] { new { role = "user", content } } });
        using var response = await _gateway.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("context_length_exceeded", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_OnPostRoute_Is405Envelope()
    {
        using var response = await _gateway.Http.GetAsync("/v1/chat/completions");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Contains("\"error\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_UnknownPath_Is404Envelope()
    {
        using var response = await _gateway.Http.GetAsync("/v1/nothing-here");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Post_WrongContentType_Is415()
    {
        using var response = await _gateway.Http.PostAsync("/v1/chat/completions", new StringContent("{}", Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    private async Task AssertStillHealthyAsync()
    {
        var body = """{"model":"stories","prompt":"Once","max_tokens":2,"temperature":0}""";
        using var ok = await _gateway.Http.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }
}
