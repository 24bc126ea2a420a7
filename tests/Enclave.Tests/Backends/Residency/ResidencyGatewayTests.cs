using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Backends.Residency;

/// <summary>Models that load on first use and unload when idle or for memory, on a real gateway with real workers.</summary>
public sealed class ResidencyGatewayTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static object Short(string model) => new { model, prompt = "Once upon a time", max_tokens = 4, temperature = 0 };

    private static object LongStream(string model) => new { model, prompt = "Once upon a time", max_tokens = 4000, temperature = 0, stream = true };

    [Fact]
    public async Task OnDemandModel_NotStartedAtBoot_ConcurrentFirstRequestsShareOneLoad()
    {
        await using var gateway = await GatewayProcess.StartAsync([Lazy("lazy", TestModels.Stories)]);

        var before = await WorkerAsync(gateway, "lazy");
        Assert.Equal("unloaded", before.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, before.GetProperty("pid").ValueKind);
        Assert.Equal(0, before.GetProperty("loads").GetInt32());
        Assert.Equal("unloaded", await ListedStatusAsync(gateway, "lazy"));
        using (var ready = await gateway.Http.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        var responses = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => gateway.Http.PostAsync("/v1/completions", Json(Short("lazy")))));
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            response.Dispose();
        }

        var after = await WorkerAsync(gateway, "lazy");
        Assert.Equal("ready", after.GetProperty("state").GetString());
        Assert.NotEqual(JsonValueKind.Null, after.GetProperty("pid").ValueKind);
        Assert.Equal(1, after.GetProperty("loads").GetInt32());
        Assert.Equal(0, after.GetProperty("restarts").GetInt32());
        Assert.Single(gateway.Output.Split('\n'), l => l.Contains("Started worker for lazy", StringComparison.Ordinal));
        Assert.Equal("loaded", await ListedStatusAsync(gateway, "lazy"));
    }

    [Fact]
    public async Task KeepAlive_IdleModelUnloadsWithoutCountingARestart_NextRequestLoadsItAgain()
    {
        await using var gateway = await GatewayProcess.StartAsync(
            [Lazy("lazy", TestModels.Stories, ("KeepAlive", "2s"))],
            new Dictionary<string, string> { ["ENCLAVE__Telemetry__EngineStatusIntervalMs"] = "100" });
        using (var first = await gateway.Http.PostAsync("/v1/completions", Json(Short("lazy"))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var loaded = await WorkerAsync(gateway, "lazy");
        var pid = loaded.GetProperty("pid").GetInt32();
        Assert.Equal("2s", loaded.GetProperty("keep_alive").GetString());
        var expires = loaded.GetProperty("expires_at").GetDateTimeOffset();
        Assert.InRange(expires - loaded.GetProperty("last_used").GetDateTimeOffset(), TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(2.1));

        await WaitUntilAsync(async () => (await WorkerAsync(gateway, "lazy")).GetProperty("state").GetString() == "unloaded", "the idle model unloads");

        var unloaded = await WorkerAsync(gateway, "lazy");
        Assert.Equal(JsonValueKind.Null, unloaded.GetProperty("pid").ValueKind);
        Assert.Equal(JsonValueKind.Null, unloaded.GetProperty("expires_at").ValueKind);
        Assert.Equal(0, unloaded.GetProperty("restarts").GetInt32());
        Assert.Equal(JsonValueKind.Null, unloaded.GetProperty("last_exit_code").ValueKind);
        Assert.True(IsGone(pid), "the worker process still runs after the unload");
        Assert.Equal("unloaded", await ListedStatusAsync(gateway, "lazy"));
        await WaitUntilAsync(async () => Metric(await gateway.Http.GetStringAsync("/metrics"), "enclave_worker_up{", "lazy") == 0, "the up gauge shows the model down");
        Assert.Equal(0, Metric(await gateway.Http.GetStringAsync("/metrics"), "enclave_worker_restarts_total{", "lazy"));
        Assert.DoesNotContain(gateway.Output.Split('\n'), l => l.Contains("Worker for lazy exited", StringComparison.Ordinal));

        using (var again = await gateway.Http.PostAsync("/v1/completions", Json(Short("lazy"))))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        var reloaded = await WorkerAsync(gateway, "lazy");
        Assert.Equal(2, reloaded.GetProperty("loads").GetInt32());
        Assert.Equal(0, reloaded.GetProperty("restarts").GetInt32());
        Assert.NotEqual(pid, reloaded.GetProperty("pid").GetInt32());
    }

    [Fact]
    public async Task LongStream_OutlivesTheKeepAlive_AndIsNotCut()
    {
        var keepAlive = TimeSpan.FromMilliseconds(100);
        await using var gateway = await GatewayProcess.StartAsync(
            [Lazy("m", TestModels.TinyLlama, ("KeepAlive", "100ms"), ("ContextSize", "4096"), ("Slots", "1"))]);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Json(LongStream("m")) };
        using var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(body);

        var streaming = Stopwatch.StartNew();
        var checkedMidStream = false;
        var events = new List<string>();
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(line["data: ".Length..]);
            }

            // Well past the keep-alive, while the stream still runs, the model is loaded and counted as serving.
            if (!checkedMidStream && streaming.Elapsed > keepAlive * 6)
            {
                var worker = await WorkerAsync(gateway, "m");
                Assert.Equal("ready", worker.GetProperty("state").GetString());
                Assert.Equal(1, worker.GetProperty("active_requests").GetInt32());
                Assert.Equal(JsonValueKind.Null, worker.GetProperty("expires_at").ValueKind);
                checkedMidStream = true;
            }
        }

        Assert.DoesNotContain(events, e => e.Contains("\"error\"", StringComparison.Ordinal));
        Assert.Equal("[DONE]", events[^1]);
        Assert.True(events.Count > 1000, $"only {events.Count} events");
        Assert.True(checkedMidStream, $"the stream ended after {streaming.ElapsedMilliseconds} ms, too soon to outlive the keep-alive");

        // The keep-alive does apply once the stream is over.
        await WaitUntilAsync(async () => (await WorkerAsync(gateway, "m")).GetProperty("state").GetString() == "unloaded", "the model unloads after the stream");
    }

    [Fact]
    public async Task MemoryBudgetForOneModel_BusyModelIsNeverUnloaded_IdleOneMakesRoom()
    {
        const long budget = 170L << 20;
        await using var gateway = await GatewayProcess.StartAsync(
            [Lazy("big", TestModels.TinyLlama, ("ContextSize", "4096"), ("Slots", "1")), Lazy("small", TestModels.Stories)],
            new Dictionary<string, string> { ["ENCLAVE__Residency__MemoryBudgetBytes"] = budget.ToString(CultureInfo.InvariantCulture) });
        var sizes = new[] { await SizeAsync(gateway, "big"), await SizeAsync(gateway, "small") };
        Assert.True(sizes.Max() <= budget && sizes.Sum() > budget, $"the budget must fit one model but not both: sizes {string.Join(", ", sizes)}");

        // "big" streams: it holds the budget, so "small" is refused and nothing is killed.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Json(LongStream("big")) };
        using var stream = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        Assert.StartsWith("data: {", await reader.ReadLineAsync());
        var bigPid = (await WorkerAsync(gateway, "big")).GetProperty("pid").GetInt32();

        using (var refused = await gateway.Http.PostAsync("/v1/completions", Json(Short("small"))))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("5", refused.Headers.GetValues("Retry-After").Single());
            var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("model_unavailable", error.GetProperty("code").GetString());
            Assert.Contains("memory budget", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        var big = await WorkerAsync(gateway, "big");
        Assert.Equal(("ready", bigPid), (big.GetProperty("state").GetString(), big.GetProperty("pid").GetInt32()));
        Assert.Equal(("unloaded", 0), ((await WorkerAsync(gateway, "small")).GetProperty("state").GetString(), (await WorkerAsync(gateway, "small")).GetProperty("loads").GetInt32()));

        // The stream was not cut.
        var rest = await reader.ReadToEndAsync();
        Assert.EndsWith("data: [DONE]\n\n", rest, StringComparison.Ordinal);
        reader.Dispose();

        // Now "big" is idle: it is unloaded to make room before "small" starts.
        using (var admitted = await gateway.Http.PostAsync("/v1/completions", Json(Short("small"))))
        {
            Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        }

        big = await WorkerAsync(gateway, "big");
        Assert.Equal("unloaded", big.GetProperty("state").GetString());
        Assert.Equal(0, big.GetProperty("restarts").GetInt32());
        Assert.True(IsGone(bigPid), "the evicted worker still runs");
        Assert.Equal("ready", (await WorkerAsync(gateway, "small")).GetProperty("state").GetString());
        Assert.Contains(gateway.Output.Split('\n'), l => l.Contains("Unloading idle big to make room for small", StringComparison.Ordinal));
    }

    [Fact]
    public async Task KilledOnDemandWorker_IsRestarted_NotUnloaded()
    {
        await using var gateway = await GatewayProcess.StartAsync([Lazy("lazy", TestModels.Stories)]);
        using (var first = await gateway.Http.PostAsync("/v1/completions", Json(Short("lazy"))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var pid = (await WorkerAsync(gateway, "lazy")).GetProperty("pid").GetInt32();
        Process.GetProcessById(pid).Kill(); // SIGKILL

        await WaitUntilAsync(async () =>
        {
            var w = await WorkerAsync(gateway, "lazy");
            return w.GetProperty("restarts").GetInt32() == 1 && w.GetProperty("state").GetString() == "ready";
        }, "the crashed worker is restarted");
        var worker = await WorkerAsync(gateway, "lazy");
        Assert.NotEqual(pid, worker.GetProperty("pid").GetInt32());
        Assert.Equal(1, worker.GetProperty("loads").GetInt32());
        using var again = await gateway.Http.PostAsync("/v1/completions", Json(Short("lazy")));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task BadResidencySettings_StopStartUp_NamingTheSettings()
    {
        await using var gateway = await GatewayProcess.StartAsync(
            [new ModelSpec("m", TestModels.Stories, new Dictionary<string, string> { ["KeepAlive"] = "soon" })],
            new Dictionary<string, string> { ["ENCLAVE__Residency__MemoryBudgetBytes"] = "1048576" },
            waitReady: false);

        Assert.Equal(2, await gateway.WaitForExitAsync(Patience));
        Assert.Contains("Models:m:KeepAlive 'soon'", gateway.Output, StringComparison.Ordinal);
        Assert.Contains("more than Residency:MemoryBudgetBytes", gateway.Output, StringComparison.Ordinal);
    }

    private static ModelSpec Lazy(string name, string path, params (string Key, string Value)[] settings)
    {
        var all = new Dictionary<string, string> { ["Preload"] = "false" };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return new ModelSpec(name, path, all);
    }

    private static async Task<JsonElement> WorkerAsync(GatewayProcess gateway, string model)
    {
        using var doc = JsonDocument.Parse(await gateway.Http.GetStringAsync("/admin/workers"));
        return doc.RootElement.GetProperty("workers").EnumerateArray().Single(w => w.GetProperty("name").GetString() == model).Clone();
    }

    private static async Task<long> SizeAsync(GatewayProcess gateway, string model) => (await WorkerAsync(gateway, model)).GetProperty("size_bytes").GetInt64();

    private static async Task<string?> ListedStatusAsync(GatewayProcess gateway, string model)
    {
        using var doc = JsonDocument.Parse(await gateway.Http.GetStringAsync("/v1/models"));
        return doc.RootElement.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("id").GetString() == model).GetProperty("status").GetString();
    }

    private static bool IsGone(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    private static double? Metric(string scrape, string prefix, string model)
    {
        var line = scrape.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal) && l.Contains($"gen_ai_request_model=\"{model}\"", StringComparison.Ordinal));
        return line is null ? null : double.Parse(line.Split('}')[^1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Deadline.In(Patience);
        while (!await condition())
        {
            Assert.False(deadline.Passed, $"timed out waiting until {what}");
            await Task.Delay(50);
        }
    }
}
