using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Ollama;

/// <summary>Ollama's keep_alive drives the gateway's model residency: unload with 0, reload on the next request, <c>/api/ps</c> follows.</summary>
public sealed class OllamaKeepAliveTests
{
    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task KeepAliveZero_UnloadsTheIdleModel_PsDropsIt_NextRequestReloads_AndKeepAliveSetsExpiry()
    {
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("chat", TestModels.StoriesChat)]);
        Assert.Contains("\"chat:latest\"", await gateway.Http.GetStringAsync("/api/ps"), StringComparison.Ordinal);

        using (var unload = await gateway.Http.PostAsync("/api/generate", Json("""{"model":"chat","keep_alive":0}""")))
        {
            var text = await unload.Content.ReadAsStringAsync();
            Assert.True(unload.IsSuccessStatusCode, text);
            Assert.Equal("unload", JsonDocument.Parse(text).RootElement.GetProperty("done_reason").GetString());
        }

        var deadline = Deadline.In(TimeSpan.FromSeconds(20));
        while (!deadline.Passed && (await gateway.Http.GetStringAsync("/api/ps")).Contains("\"chat:latest\"", StringComparison.Ordinal))
        {
            await Task.Delay(100);
        }

        using (var ps = JsonDocument.Parse(await gateway.Http.GetStringAsync("/api/ps")))
        {
            Assert.Empty(ps.RootElement.GetProperty("models").EnumerateArray());
        }

        // The next request loads it again, and its keep_alive sets when it would unload.
        using (var chat = await gateway.Http.PostAsync("/api/chat", Json("""{"model":"chat","stream":false,"keep_alive":"10m","messages":[{"role":"user","content":"Hi"}],"options":{"num_predict":3}}""")))
        {
            var text = await chat.Content.ReadAsStringAsync();
            Assert.True(chat.IsSuccessStatusCode, text);
            Assert.True(JsonDocument.Parse(text).RootElement.GetProperty("done").GetBoolean());
        }

        using var after = JsonDocument.Parse(await gateway.Http.GetStringAsync("/api/ps"));
        var entry = Assert.Single(after.RootElement.GetProperty("models").EnumerateArray());
        Assert.Equal("chat", entry.GetProperty("name").GetString()!.Split(':')[0]);
        var expires = entry.GetProperty("expires_at").GetDateTimeOffset();
        Assert.InRange(expires, TimeProvider.System.GetUtcNow() + TimeSpan.FromMinutes(9), TimeProvider.System.GetUtcNow() + TimeSpan.FromMinutes(11));
    }
}
