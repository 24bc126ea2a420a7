using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Enclave.Tests.Infrastructure;
using static Enclave.Tests.Ollama.OllamaTestSupport;

namespace Enclave.Tests.Ollama;

/// <summary>Failures during an Ollama answer: a worker dying mid-generation, a client going away.</summary>
public sealed class OllamaFailureTests : IAsyncLifetime
{
    private const string LongGenerate = """{"model":"long","prompt":"Once upon a time","raw":true,"options":{"temperature":0,"num_predict":4000}}""";

    private GatewayProcess _gateway = null!;

    public async Task InitializeAsync() => _gateway = await GatewayProcess.StartAsync(
        [new ModelSpec("long", TestModels.TinyLlama, new Dictionary<string, string> { ["ContextSize"] = "4096", ["Slots"] = "1" })]);

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task WorkerKilledMidStream_LastLineIsAnErrorObject_AndTheLedgerSaysSo()
    {
        var pid = await WorkerPidAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/generate") { Content = RawJson(LongGenerate) };
        using var response = await _gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = JsonDocument.Parse((await reader.ReadLineAsync())!).RootElement;
        Assert.False(first.GetProperty("done").GetBoolean());

        Process.GetProcessById(pid).Kill(); // SIGKILL

        var rest = new List<JsonElement>();
        while (await reader.ReadLineAsync() is { } line)
        {
            rest.Add(JsonDocument.Parse(line).RootElement.Clone());
        }

        Assert.DoesNotContain(rest, l => l.TryGetProperty("done", out var done) && done.GetBoolean());
        var error = Assert.Single(rest[^1].EnumerateObject());
        Assert.Equal("error", error.Name);
        Assert.Contains("stopped during generation", error.Value.GetString(), StringComparison.Ordinal);
        var row = Assert.Single(await LedgerRowsAsync(_gateway.DataDir, RequestId(response)));
        Assert.Equal(("/api/generate", "worker_crashed"), (row.Route, row.ErrorCode));
        Assert.True(row.CompletionTokens >= rest.Count - 1);
    }

    [Fact]
    public async Task WorkerKilledDuringAWholeAnswer_Is500WithAnErrorObject()
    {
        var pid = await WorkerPidAsync();
        var before = await TokensGeneratedAsync();
        var pending = _gateway.Http.PostAsync("/api/generate", RawJson(LongGenerate.Replace("\"raw\":true", "\"raw\":true,\"stream\":false", StringComparison.Ordinal)));
        // Killed once generation is well under way, so the answer had begun and is lost midway.
        await WaitUntilAsync(async () => await TokensGeneratedAsync() > before + 20, TimeSpan.FromSeconds(10));

        Process.GetProcessById(pid).Kill();
        using var response = await pending;

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.InternalServerError, $"{response.StatusCode}: {text}");
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Contains("stopped during generation", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientDisconnect_FreesTheSlotWithin500Milliseconds()
    {
        await WorkerPidAsync();
        using (var cts = new CancellationTokenSource())
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
            {
                Content = RawJson("""{"model":"long","messages":[{"role":"user","content":"Tell me everything"}],"options":{"temperature":0,"num_predict":4000}}"""),
            };
            using var response = await _gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
            await reader.ReadLineAsync(cts.Token);
            Assert.Equal(1, await ActiveSequencesAsync());
            await cts.CancelAsync();
        }

        var freed = Stopwatch.StartNew();
        await WaitUntilAsync(async () => await ActiveSequencesAsync() == 0, TimeSpan.FromSeconds(5));
        Assert.True(freed.Elapsed < TimeSpan.FromMilliseconds(500), $"slot freed after {freed.ElapsedMilliseconds} ms");
    }

    private async Task<JsonElement> WorkerAsync()
    {
        var doc = JsonDocument.Parse(await _gateway.Http.GetStringAsync("/admin/workers"));
        return doc.RootElement.GetProperty("workers")[0].Clone();
    }

    // After a kill the supervisor restarts the worker; wait for the new one (each test may run after the kill).
    private async Task<int> WorkerPidAsync()
    {
        await WaitUntilAsync(async () => (await WorkerAsync()).GetProperty("state").GetString() == "ready", TimeSpan.FromSeconds(30));
        return (await WorkerAsync()).GetProperty("pid").GetInt32();
    }

    private async Task<long> TokensGeneratedAsync() => (await WorkerAsync()).GetProperty("engine").GetProperty("tokensGenerated").GetInt64();

    private async Task<int> ActiveSequencesAsync() =>
        (await WorkerAsync()).TryGetProperty("engine", out var engine) && engine.ValueKind == JsonValueKind.Object
            ? engine.GetProperty("activeSequences").GetInt32()
            : -1;
}
