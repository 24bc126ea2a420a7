using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Backends;

/// <summary>Tests that need their own gateway: worker crashes, cancellation, a full queue.</summary>
public sealed class DedicatedGatewayTests
{
    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static object LongStream(string model) => new { model, prompt = "Once upon a time", max_tokens = 4000, temperature = 0, stream = true };

    private static async Task<JsonElement> WorkerAsync(GatewayProcess gateway, string model)
    {
        var doc = JsonDocument.Parse(await gateway.Http.GetStringAsync("/admin/workers"));
        return doc.RootElement.GetProperty("workers").EnumerateArray().Single(w => w.GetProperty("name").GetString() == model).Clone();
    }

    [Fact]
    public async Task KillWorkerMidStream_StreamEndsWithErrorEvent_GatewayAndOtherModelsKeepServing()
    {
        await using var gateway = await GatewayProcess.StartAsync(
        [
            new ModelSpec("victim", TestModels.TinyLlama, new Dictionary<string, string> { ["ContextSize"] = "4096", ["Slots"] = "1" }),
            new ModelSpec("bystander", TestModels.Stories),
        ]);
        var pid = (await WorkerAsync(gateway, "victim")).GetProperty("pid").GetInt32();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Json(LongStream("victim")) };
        using var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(body);
        var first = await reader.ReadLineAsync();
        Assert.StartsWith("data: {", first);

        Process.GetProcessById(pid).Kill(); // SIGKILL

        var rest = new List<string>();
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                rest.Add(line["data: ".Length..]);
            }
        }

        Assert.DoesNotContain("[DONE]", rest);
        var error = JsonDocument.Parse(rest[^1]).RootElement.GetProperty("error");
        Assert.Equal("worker_crashed", error.GetProperty("code").GetString());

        // The gateway's log line about the lost worker carries the request's id (JSON log scope).
        var requestId = response.Headers.GetValues("x-request-id").Single();
        await WaitUntilAsync(() => Task.FromResult(gateway.Output.Split('\n').Any(l => l.Contains("was lost", StringComparison.Ordinal) && l.Contains(requestId, StringComparison.Ordinal))), TimeSpan.FromSeconds(5));

        // The gateway and the other model keep serving while the victim restarts.
        using var other = await gateway.Http.PostAsync("/v1/completions", Json(new { model = "bystander", prompt = "The dog", max_tokens = 8, temperature = 0 }));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.False(gateway.HasExited);

        // The victim comes back with a new process and serves again.
        await gateway.WaitReadyAsync(TimeSpan.FromSeconds(30));
        var worker = await WorkerAsync(gateway, "victim");
        Assert.Equal(1, worker.GetProperty("restarts").GetInt32());
        Assert.NotEqual(pid, worker.GetProperty("pid").GetInt32());
        using var again = await gateway.Http.PostAsync("/v1/completions", Json(new { model = "victim", prompt = "Hello", max_tokens = 4, temperature = 0 }));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task KillWorkerDuringNonStreamedRequest_Gets503Envelope()
    {
        await using var gateway = await GatewayProcess.StartAsync(
            [new ModelSpec("victim", TestModels.TinyLlama, new Dictionary<string, string> { ["ContextSize"] = "4096", ["Slots"] = "1" })]);
        var pid = (await WorkerAsync(gateway, "victim")).GetProperty("pid").GetInt32();

        var pending = gateway.Http.PostAsync("/v1/completions", Json(new { model = "victim", prompt = "Once upon a time", max_tokens = 4000, temperature = 0 }));
        await WaitUntilAsync(async () => (await WorkerAsync(gateway, "victim")).GetProperty("engine").GetProperty("activeSequences").GetInt32() == 1, TimeSpan.FromSeconds(5));
        Process.GetProcessById(pid).Kill();
        using var response = await pending;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(response.Headers.Contains("Retry-After"));
        Assert.Contains("worker_unavailable", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ClientDisconnect_FreesSlotWithin500Milliseconds()
    {
        await using var gateway = await GatewayProcess.StartAsync(
            [new ModelSpec("m", TestModels.TinyLlama, new Dictionary<string, string> { ["ContextSize"] = "4096", ["Slots"] = "1" })]);

        using (var cts = new CancellationTokenSource())
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Json(LongStream("m")) };
            using var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
            await reader.ReadLineAsync(cts.Token);
            await reader.ReadLineAsync(cts.Token);
            var engine = (await WorkerAsync(gateway, "m")).GetProperty("engine");
            Assert.Equal(1, engine.GetProperty("activeSequences").GetInt32());
            await cts.CancelAsync();
        }

        var freed = Stopwatch.StartNew();
        await WaitUntilAsync(async () => (await WorkerAsync(gateway, "m")).GetProperty("engine").GetProperty("activeSequences").GetInt32() == 0, TimeSpan.FromSeconds(5));
        Assert.True(freed.ElapsedMilliseconds < 500, $"slot freed after {freed.ElapsedMilliseconds} ms");
        var engineAfter = (await WorkerAsync(gateway, "m")).GetProperty("engine");
        Assert.Equal(0, engineAfter.GetProperty("kvCellsUsed").GetInt64());
        Assert.True(engineAfter.GetProperty("tokensGenerated").GetInt64() < 3900, "generation ran to the end instead of being cancelled");

        // The single slot is usable again at once.
        using var next = await gateway.Http.PostAsync("/v1/completions", Json(new { model = "m", prompt = "Hi", max_tokens = 3, temperature = 0 }));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task FullQueue_Answers429WithRetryAfter()
    {
        await using var gateway = await GatewayProcess.StartAsync(
            [new ModelSpec("m", TestModels.TinyLlama, new Dictionary<string, string> { ["ContextSize"] = "4096", ["Slots"] = "1", ["QueueCapacity"] = "1" })]);
        using var cts = new CancellationTokenSource();

        // One slot and one queue place: of six simultaneous long requests at most two are admitted.
        var sends = Enumerable.Range(0, 6).Select(_ => gateway.Http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Json(LongStream("m")) },
            HttpCompletionOption.ResponseHeadersRead,
            cts.Token)).ToArray();
        var responses = await Task.WhenAll(sends);
        try
        {
            var rejected = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToArray();
            Assert.True(responses.Count(r => r.StatusCode == HttpStatusCode.OK) <= 2);
            Assert.True(rejected.Length >= 4, $"only {rejected.Length} of 6 were rejected");
            foreach (var r in rejected)
            {
                Assert.Equal("1", r.Headers.GetValues("Retry-After").Single());
                var error = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
                Assert.Equal("queue_full", error.GetProperty("code").GetString());
                Assert.Equal("rate_limit_exceeded", error.GetProperty("type").GetString());
            }
        }
        finally
        {
            await cts.CancelAsync();
            Array.ForEach(responses, r => r.Dispose());
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < timeout, "condition not met in time");
            await Task.Delay(10);
        }
    }
}
