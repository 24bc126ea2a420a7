using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Security.Auth;

/// <summary>
/// Keys, scopes and model visibility on a real gateway. One canary key is used throughout; at the end the canary
/// secret must appear in no log line, audit record or response body.
/// </summary>
public sealed class AuthenticationTests : IAsyncLifetime
{
    private readonly List<string> _bodies = [];
    private GatewayProcess _gateway = null!;
    private string _dataDir = null!;
    private (string Id, string Key) _admin;
    private (string Id, string Key) _canary;
    private (string Id, string Key) _embedOnly;
    private (string Id, string Key) _storiesOnly;

    public async Task InitializeAsync()
    {
        _dataDir = Path.Combine(Path.GetTempPath(), "enclave-auth-" + Guid.NewGuid().ToString("N"));
        _admin = await KeyCli.CreateAsync(_dataDir, "admin", "--scopes", "admin,inference,embeddings,models");
        _canary = await KeyCli.CreateAsync(_dataDir, "canary");
        _embedOnly = await KeyCli.CreateAsync(_dataDir, "embedder", "--scopes", "embeddings");
        _storiesOnly = await KeyCli.CreateAsync(_dataDir, "stories-only", "--models", "stor*");
        _gateway = await GatewayProcess.StartAsync(
            [new ModelSpec("stories", TestModels.Stories), new ModelSpec("bert", TestModels.Bert)],
            dataDir: _dataDir,
            waitReady: true);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> SendAsync(HttpMethod method, string path, string? key, string? json = null, Action<HttpRequestHeaders>? headers = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        if (key is { Length: 0 })
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer ");
        }
        else if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        headers?.Invoke(request.Headers);
        var response = await _gateway.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        _bodies.Add(body);
        return (response.StatusCode, body, response);
    }

    private const string Completion = """{"model":"stories","prompt":"Once","max_tokens":2,"temperature":0}""";

    [Fact]
    public async Task EveryProtectedRoute_WithoutKey_Is401Envelope()
    {
        (HttpMethod Method, string Path, string? Body)[] routes =
        [
            (HttpMethod.Post, "/v1/chat/completions", """{"model":"stories","messages":[{"role":"user","content":"x"}]}"""),
            (HttpMethod.Post, "/v1/completions", Completion),
            (HttpMethod.Post, "/v1/embeddings", """{"model":"bert","input":"x"}"""),
            (HttpMethod.Get, "/v1/models", null),
            (HttpMethod.Get, "/v1/models/stories", null),
            (HttpMethod.Get, "/admin/workers", null),
            (HttpMethod.Get, "/admin/keys", null),
            (HttpMethod.Post, "/admin/keys", """{"name":"x"}"""),
            (HttpMethod.Delete, "/admin/keys/abc", null),
            (HttpMethod.Post, "/admin/keys/abc/rotate", null),
            (HttpMethod.Get, "/no/such/path", null),
        ];
        foreach (var (method, path, body) in routes)
        {
            var (status, text, response) = await SendAsync(method, path, null, body);

            Assert.True(status == HttpStatusCode.Unauthorized, $"{method} {path} answered {(int)status} without a key");
            Assert.Equal("invalid_api_key", JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.True(response.Headers.Contains("x-request-id"));
        }

        var (health, _, _) = await SendAsync(HttpMethod.Get, "/healthz", null);
        var (ready, _, _) = await SendAsync(HttpMethod.Get, "/readyz", null);
        Assert.Equal(HttpStatusCode.OK, health);
        Assert.Equal(HttpStatusCode.OK, ready);
    }

    [Fact]
    public async Task BadCredentials_AllGetTheSame401()
    {
        var wrongSecret = _canary.Key[..^4] + (_canary.Key.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        string?[] keys = [wrongSecret, "enc_" + new string('a', 12) + "_" + new string('b', 43), "not-a-key", ""];
        var messages = new HashSet<string>();
        foreach (var key in keys)
        {
            var (status, body, _) = await SendAsync(HttpMethod.Post, "/v1/completions", key, Completion);
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            messages.Add(JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("message").GetString()!);
        }

        var (basic, _, _) = await SendAsync(HttpMethod.Post, "/v1/completions", null, Completion, h => h.Authorization = new AuthenticationHeaderValue("Basic", "dXNlcjpwYXNz"));
        var (twoHeaders, _, _) = await SendAsync(HttpMethod.Post, "/v1/completions", _canary.Key, Completion, h => h.Add("x-api-key", _canary.Key));
        var (queryKey, _, _) = await SendAsync(HttpMethod.Post, "/v1/completions?api_key=" + _canary.Key, null, Completion);

        Assert.Single(messages);
        Assert.Equal(HttpStatusCode.Unauthorized, basic);
        Assert.Equal(HttpStatusCode.Unauthorized, twoHeaders);
        Assert.Equal(HttpStatusCode.Unauthorized, queryKey);
    }

    [Fact]
    public async Task ValidKey_BearerOrXApiKey_IsServed()
    {
        var (bearer, _, _) = await SendAsync(HttpMethod.Post, "/v1/completions", _canary.Key, Completion);
        var (header, _, _) = await SendAsync(HttpMethod.Post, "/v1/completions", null, Completion, h => h.Add("x-api-key", _canary.Key));

        Assert.Equal(HttpStatusCode.OK, bearer);
        Assert.Equal(HttpStatusCode.OK, header);
    }

    [Fact]
    public async Task OfficialSdk_WithKey_Works()
    {
        var client = new OpenAI.OpenAIClient(new System.ClientModel.ApiKeyCredential(_canary.Key), new OpenAI.OpenAIClientOptions { Endpoint = new Uri(_gateway.BaseUrl, "/v1") });

        var models = await client.GetOpenAIModelClient().GetModelsAsync();

        Assert.Equal(["bert", "stories"], models.Value.Select(m => m.Id).Order().ToArray());
    }

    [Fact]
    public async Task Scopes_AreEnforcedPerRoute()
    {
        var (chat, chatBody, _) = await SendAsync(HttpMethod.Post, "/v1/completions", _embedOnly.Key, Completion);
        var (embed, _, _) = await SendAsync(HttpMethod.Post, "/v1/embeddings", _embedOnly.Key, """{"model":"bert","input":"x"}""");
        var (admin, adminBody, _) = await SendAsync(HttpMethod.Get, "/admin/keys", _canary.Key);
        var (adminOk, _, _) = await SendAsync(HttpMethod.Get, "/admin/keys", _admin.Key);

        Assert.Equal(HttpStatusCode.Forbidden, chat);
        Assert.Equal("insufficient_scope", JsonDocument.Parse(chatBody).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, embed);
        Assert.Equal(HttpStatusCode.Forbidden, admin);
        Assert.Equal("permission_error", JsonDocument.Parse(adminBody).RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.OK, adminOk);
    }

    [Fact]
    public async Task ModelOutsideKeyGlobs_LooksExactlyLikeAnUnknownModel()
    {
        var (hidden, hiddenBody, _) = await SendAsync(HttpMethod.Post, "/v1/embeddings", _storiesOnly.Key, """{"model":"bert","input":"x"}""");
        var (absent, absentBody, _) = await SendAsync(HttpMethod.Post, "/v1/embeddings", _storiesOnly.Key, """{"model":"nope","input":"x"}""");
        var (listed, listBody, _) = await SendAsync(HttpMethod.Get, "/v1/models", _storiesOnly.Key);
        var (direct, _, _) = await SendAsync(HttpMethod.Get, "/v1/models/bert", _storiesOnly.Key);
        var (allowed, _, _) = await SendAsync(HttpMethod.Post, "/v1/completions", _storiesOnly.Key, Completion);

        Assert.Equal(HttpStatusCode.NotFound, hidden);
        Assert.Equal(HttpStatusCode.NotFound, absent);
        Assert.Equal(absentBody.Replace("nope", "bert", StringComparison.Ordinal), hiddenBody);
        Assert.Equal(HttpStatusCode.OK, listed);
        Assert.Equal(["stories"], JsonDocument.Parse(listBody).RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToArray());
        Assert.Equal(HttpStatusCode.NotFound, direct);
        Assert.Equal(HttpStatusCode.OK, allowed);
    }

    [Fact]
    public async Task AdminApi_CreateRevokeRotate_TakeEffectWithinOneSecond()
    {
        var (created, createdBody, _) = await SendAsync(HttpMethod.Post, "/admin/keys", _admin.Key, """{"name":"temp","scopes":["inference"]}""");
        Assert.Equal(HttpStatusCode.Created, created);
        var issued = JsonDocument.Parse(createdBody).RootElement;
        var id = issued.GetProperty("id").GetString()!;
        var key = issued.GetProperty("key").GetString()!;
        await EventuallyAsync(async () => (await SendAsync(HttpMethod.Post, "/v1/completions", key, Completion)).Status == HttpStatusCode.OK);

        var (rotated, rotatedBody, _) = await SendAsync(HttpMethod.Post, $"/admin/keys/{id}/rotate", _admin.Key, """{"grace_seconds":60}""");
        Assert.Equal(HttpStatusCode.Created, rotated);
        var newKey = JsonDocument.Parse(rotatedBody).RootElement.GetProperty("key").GetString()!;
        var newId = JsonDocument.Parse(rotatedBody).RootElement.GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "/v1/completions", newKey, Completion)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "/v1/completions", key, Completion)).Status); // within grace

        var (revoked, _, _) = await SendAsync(HttpMethod.Delete, $"/admin/keys/{newId}", _admin.Key);
        Assert.Equal(HttpStatusCode.OK, revoked);
        await EventuallyAsync(async () => (await SendAsync(HttpMethod.Post, "/v1/completions", newKey, Completion)).Status == HttpStatusCode.Unauthorized);
        var (list, listBody, _) = await SendAsync(HttpMethod.Get, "/admin/keys", _admin.Key);
        Assert.Equal(HttpStatusCode.OK, list);
        Assert.DoesNotContain(key, listBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CliRevoke_OnRunningGateway_TakesEffectWithinOneSecond()
    {
        var victim = await KeyCli.CreateAsync(_dataDir, "victim");
        await EventuallyAsync(async () => (await SendAsync(HttpMethod.Post, "/v1/completions", victim.Key, Completion)).Status == HttpStatusCode.OK);

        var (code, _, error) = await KeyCli.RunAsync(["keys", "revoke", victim.Id, "--data-dir", _dataDir]);
        Assert.True(code == 0, error);

        await EventuallyAsync(async () => (await SendAsync(HttpMethod.Post, "/v1/completions", victim.Key, Completion)).Status == HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Canary_NeverAppearsInLogsAuditOrBodies()
    {
        // Use the canary in successes and in every kind of failure first.
        await SendAsync(HttpMethod.Post, "/v1/completions", _canary.Key, Completion);
        await SendAsync(HttpMethod.Post, "/v1/completions", _canary.Key + "x", Completion);
        await SendAsync(HttpMethod.Get, "/admin/keys", _canary.Key);
        await SendAsync(HttpMethod.Post, "/v1/completions?api_key=" + _canary.Key, null, Completion);
        await SendAsync(HttpMethod.Post, "/v1/completions", _canary.Key, """{"model":"nope","prompt":"x"}""");
        await SendAsync(HttpMethod.Post, "/v1/completions", _canary.Key, "{broken");

        var (code, export, _) = await KeyCli.RunAsync(["audit", "export", "--data-dir", _dataDir]);
        Assert.Equal(0, code);
        var secret = KeyCli.SecretOf(_canary.Key);
        Assert.Contains(_canary.Id, export, StringComparison.Ordinal); // the canary's failures and uses are audited by id
        Assert.DoesNotContain(secret, export, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, _gateway.Output, StringComparison.Ordinal);
        Assert.All(_bodies, b => Assert.DoesNotContain(secret, b, StringComparison.Ordinal));
        var db = await File.ReadAllBytesAsync(Path.Combine(_dataDir, "enclave.db"));
        Assert.DoesNotContain(secret, Encoding.ASCII.GetString(db), StringComparison.Ordinal);
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), "did not take effect within one second");
            await Task.Delay(50);
        }
    }
}
