using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Enclave.Tests.Infrastructure;
using Enclave.Tests.Security.Auth;
using OllamaSharp;
using static Enclave.Tests.Ollama.OllamaTestSupport;

namespace Enclave.Tests.Ollama;

/// <summary>
/// The Ollama routes behind keys: each needs the scope of its OpenAI twin, and a key's model globs decide which
/// models it sees and may use.
/// </summary>
public sealed class OllamaAuthTests(OllamaAuthGateway fixture) : IClassFixture<OllamaAuthGateway>
{
    private const string Chat = """{"model":"stories","messages":[{"role":"user","content":"Hi"}],"stream":false,"options":{"num_predict":2}}""";
    private const string Generate = """{"model":"stories","prompt":"Once","stream":false,"options":{"num_predict":2}}""";
    private const string Embed = """{"model":"bert","input":"x"}""";
    private const string Embeddings = """{"model":"bert","prompt":"x"}""";
    private const string Show = """{"model":"stories"}""";

    private GatewayProcess Gateway => fixture.Gateway;

    public static TheoryData<string, string, string?> Routes() => new()
    {
        { "GET", "/", null },
        { "GET", "/api/version", null },
        { "GET", "/api/tags", null },
        { "GET", "/api/ps", null },
        { "POST", "/api/show", Show },
        { "POST", "/api/chat", Chat },
        { "POST", "/api/generate", Generate },
        { "POST", "/api/embed", Embed },
        { "POST", "/api/embeddings", Embeddings },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task EveryOllamaRoute_WithoutAKey_Is401(string method, string path, string? body)
    {
        using var response = await SendAsync(method, path, body, key: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/api/chat", Chat, "inference", HttpStatusCode.OK)]
    [InlineData("/api/chat", Chat, "embeddings", HttpStatusCode.Forbidden)]
    [InlineData("/api/chat", Chat, "models", HttpStatusCode.Forbidden)]
    [InlineData("/api/generate", Generate, "inference", HttpStatusCode.OK)]
    [InlineData("/api/generate", Generate, "embeddings", HttpStatusCode.Forbidden)]
    [InlineData("/api/embed", Embed, "embeddings", HttpStatusCode.OK)]
    [InlineData("/api/embed", Embed, "inference", HttpStatusCode.Forbidden)]
    [InlineData("/api/embeddings", Embeddings, "embeddings", HttpStatusCode.OK)]
    [InlineData("/api/embeddings", Embeddings, "inference", HttpStatusCode.Forbidden)]
    [InlineData("/api/show", Show, "models", HttpStatusCode.OK)]
    [InlineData("/api/show", Show, "inference", HttpStatusCode.Forbidden)]
    public async Task Post_NeedsTheScopeOfItsOpenAiTwin(string path, string body, string scope, HttpStatusCode expected)
    {
        using var response = await SendAsync("POST", path, body, KeyFor(scope));

        Assert.Equal(expected, response.StatusCode);
    }

    [Theory]
    [InlineData("/api/tags", "models", HttpStatusCode.OK)]
    [InlineData("/api/tags", "inference", HttpStatusCode.Forbidden)]
    [InlineData("/api/ps", "models", HttpStatusCode.OK)]
    [InlineData("/api/ps", "embeddings", HttpStatusCode.Forbidden)]
    [InlineData("/api/version", "embeddings", HttpStatusCode.OK)]
    [InlineData("/", "inference", HttpStatusCode.OK)]
    public async Task Get_NeedsTheRightScope(string path, string scope, HttpStatusCode expected)
    {
        using var response = await SendAsync("GET", path, null, KeyFor(scope));

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task ModelGlobs_HideOtherModels_FromListsAndRequests()
    {
        using var http = new HttpClient { BaseAddress = Gateway.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Keys["stories-only"]);
        using var client = new OllamaApiClient(http);

        Assert.Equal(["stories:latest"], (await client.ListLocalModelsAsync()).Select(m => m.Name));
        Assert.Equal(["stories:latest"], (await client.ListRunningModelsAsync()).Select(m => m.Name));
        foreach (var (path, body) in new[] { ("/api/show", """{"model":"bert"}"""), ("/api/embed", Embed), ("/api/generate", """{"model":"bert"}""") })
        {
            using var response = await SendAsync("POST", path, body, fixture.Keys["stories-only"]);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("model 'bert' not found", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        }
    }

    private string KeyFor(string scope) => fixture.Keys[scope];

    private async Task<HttpResponseMessage> SendAsync(string method, string path, string? body, string? key)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = RawJson(body);
        }

        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return await Gateway.Http.SendAsync(request);
    }
}
