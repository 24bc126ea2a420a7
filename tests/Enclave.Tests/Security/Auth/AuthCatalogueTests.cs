using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Security.Auth;

/// <summary>
/// The authentication rows of the bad-input catalogue (RELIABILITY.md §5: 14, 26, 27, 29, 30, 31, 33, 34, 35)
/// against a gateway that requires keys. Each row checks the status, the OpenAI envelope, x-request-id, that no
/// key material comes back, and that a healthy request still succeeds afterwards.
/// </summary>
public sealed class AuthCatalogueTests : IAsyncLifetime
{
    private const string Chat = """{"model":"stories","messages":[{"role":"user","content":"Hi"}],"max_tokens":2}""";
    private const string Embed = """{"model":"bert","input":"x"}""";

    private GatewayProcess _gateway = null!;
    private string _dataDir = null!;
    private readonly Dictionary<string, (string Id, string Key)> _keys = [];

    public async Task InitializeAsync()
    {
        _dataDir = Path.Combine(Path.GetTempPath(), "enclave-authcat-" + Guid.NewGuid().ToString("N"));
        _keys["ok"] = await KeyCli.CreateAsync(_dataDir, "ok", "--models", "stories");
        _keys["revoked"] = await KeyCli.CreateAsync(_dataDir, "revoked");
        _keys["expired"] = await KeyCli.CreateAsync(_dataDir, "expired", "--expires", "1s");
        _keys["embed"] = await KeyCli.CreateAsync(_dataDir, "embed", "--scopes", "embeddings");
        await KeyCli.RunAsync(["keys", "revoke", _keys["revoked"].Id, "--data-dir", _dataDir]);
        _gateway = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories), new ModelSpec("bert", TestModels.Bert)], dataDir: _dataDir);
        await Task.Delay(TimeSpan.FromSeconds(1.1)); // let the 1 s key expire
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    public static TheoryData<string> Rows() => new()
    {
        "14 X_Api_Key alias", "26 no Authorization", "27a Basic", "27b empty Bearer", "27c two Authorization headers",
        "29a revoked key", "29b expired key", "30a embeddings-only key on chat", "30b non-admin key on /admin",
        "31 model outside allowlist", "33 key in query string", "34 wrong secret, right id",
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Row_IsRejectedCleanly(string row)
    {
        var ok = _keys["ok"].Key;
        var (status, code, request) = row[..3].Trim() switch
        {
            "14" => (401, "invalid_api_key", Build(HttpMethod.Post, "/v1/chat/completions", Chat, h => h.TryAddWithoutValidation("X_Api_Key", ok))),
            "26" => (401, "invalid_api_key", Build(HttpMethod.Post, "/v1/chat/completions", Chat)),
            "27a" => (401, "invalid_api_key", Build(HttpMethod.Post, "/v1/chat/completions", Chat, h => h.Authorization = new AuthenticationHeaderValue("Basic", "b2s6b2s="))),
            "27b" => (401, "invalid_api_key", Build(HttpMethod.Post, "/v1/chat/completions", Chat, h => h.TryAddWithoutValidation("Authorization", "Bearer "))),
            "27c" => (401, "invalid_api_key", Build(HttpMethod.Post, "/v1/chat/completions", Chat, h => h.TryAddWithoutValidation("Authorization", ["Bearer " + ok, "Bearer " + ok]))),
            "29a" => (401, "invalid_api_key", Build(HttpMethod.Post, "/v1/chat/completions", Chat, Bearer(_keys["revoked"].Key))),
            "29b" => (401, "invalid_api_key", Build(HttpMethod.Post, "/v1/chat/completions", Chat, Bearer(_keys["expired"].Key))),
            "30a" => (403, "insufficient_scope", Build(HttpMethod.Post, "/v1/chat/completions", Chat, Bearer(_keys["embed"].Key))),
            "30b" => (403, "insufficient_scope", Build(HttpMethod.Get, "/admin/keys", null, Bearer(ok))),
            "31" => (404, "model_not_found", Build(HttpMethod.Post, "/v1/embeddings", Embed, Bearer(ok))),
            "33" => (401, "invalid_api_key", Build(HttpMethod.Post, "/v1/chat/completions?api_key=" + ok, Chat)),
            "34" => (401, "invalid_api_key", Build(HttpMethod.Post, "/v1/chat/completions", Chat, Bearer(ok[..^3] + (ok.EndsWith("xyz", StringComparison.Ordinal) ? "abc" : "xyz")))),
            _ => throw new InvalidOperationException(row),
        };

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var response = await _gateway.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"row {row} took {clock.Elapsed}");
        Assert.Equal(status, (int)response.StatusCode);
        Assert.True(response.Headers.Contains("x-request-id"));
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        foreach (var (_, key) in _keys.Values)
        {
            Assert.DoesNotContain(KeyCli.SecretOf(key), body, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        using var healthy = await _gateway.Http.SendAsync(Build(HttpMethod.Post, "/v1/chat/completions", Chat, Bearer(ok)));
        Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
    }

    private static Action<HttpRequestHeaders> Bearer(string key) => AuthCatalogueRequests.Bearer(key);

    private static HttpRequestMessage Build(HttpMethod method, string path, string? json, Action<HttpRequestHeaders>? headers = null) =>
        AuthCatalogueRequests.Build(method, path, json, headers);
}

internal static class AuthCatalogueRequests
{
    public static Action<HttpRequestHeaders> Bearer(string key) => h => h.Authorization = new AuthenticationHeaderValue("Bearer", key);

    public static HttpRequestMessage Build(HttpMethod method, string path, string? json, Action<HttpRequestHeaders>? headers = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        headers?.Invoke(request.Headers);
        return request;
    }
}

/// <summary>Row 35 on a gateway of its own, so other rows' failures do not count towards the threshold.</summary>
public sealed class AuthBruteForceTests : IAsyncLifetime
{
    private GatewayProcess _gateway = null!;
    private string _dataDir = null!;

    public async Task InitializeAsync()
    {
        _dataDir = Path.Combine(Path.GetTempPath(), "enclave-brute-" + Guid.NewGuid().ToString("N"));
        await KeyCli.CreateAsync(_dataDir, "someone");
        _gateway = await GatewayProcess.StartAsync([], dataDir: _dataDir);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public async Task Row35_ManyBadKeysFromOneClient_Get429AfterTheThreshold()
    {
        HttpResponseMessage? last = null;
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 120; i++)
        {
            last?.Dispose();
            last = await _gateway.Http.SendAsync(AuthCatalogueRequests.Build(HttpMethod.Get, "/v1/models", null, AuthCatalogueRequests.Bearer("enc_guess" + i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture) + "abc_" + new string('q', 43))));
            statuses.Add(last.StatusCode);
        }

        Assert.Equal(100, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.All(statuses.Skip(100), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
        Assert.True(last!.Headers.Contains("Retry-After"));
        Assert.Equal("rate_limit_exceeded", JsonDocument.Parse(await last.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        last.Dispose();
    }

}
