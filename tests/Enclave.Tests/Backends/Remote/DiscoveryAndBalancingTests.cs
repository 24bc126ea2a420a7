using System.Diagnostics;
using System.Text.Json;
using Enclave.Tests.Infrastructure;
using static Enclave.Tests.Backends.Remote.RemoteApi;

namespace Enclave.Tests.Backends.Remote;

/// <summary>Which backend gets a request: discovery, <c>--backend</c>, weights, least outstanding, health checks and failover from local workers.</summary>
public sealed class DiscoveryAndBalancingTests
{
    private static CancellationTokenSource Budget() => new(TimeSpan.FromSeconds(60));

    [Fact]
    public async Task Discovery_ModelsComeFromTheUpstreamsList_AreListedAndServed_AndRefreshOnHealthChecks()
    {
        await using var wall = await FaultUpstream.StartAsync("disc", "disc-a", "disc-b");
        await using var gateway = await new RemoteSetup().Backend("disc", wall).Resilience("HealthCheckIntervalMs", 300).StartAsync(["disc-a", "disc-b"]);
        using var cts = Budget();

        var (status, body, _, _) = await SendAsync(gateway, Chat("disc-a"), cts.Token);
        Assert.True(status == 200, $"{status}: {Trim(body)}");
        Assert.Equal("disc-a", wall.Inference.Single().Model);

        wall.Models = ["disc-a", "disc-b", "disc-c"];
        await RemoteSetup.WaitForModelsAsync(gateway, ["disc-c"], TimeSpan.FromSeconds(5));
        (status, body, _, _) = await SendAsync(gateway, Chat("disc-c"), cts.Token);
        Assert.True(status == 200, $"{status}: {Trim(body)}");
    }

    [Fact]
    public async Task HealthChecks_AskForTheModelList_NeverForACompletion()
    {
        await using var wall = await FaultUpstream.StartAsync("primary", "ok");
        await using var gateway = await new RemoteSetup().Backend("primary", wall, "ok").Resilience("HealthCheckIntervalMs", 300).StartAsync(["ok"]);

        var deadline = Deadline.In(TimeSpan.FromSeconds(5));
        while (!deadline.Passed && wall.Requests.Count(r => r.Path == "/v1/models") < 3)
        {
            await Task.Delay(100);
        }

        Assert.True(wall.Requests.Count(r => r.Path == "/v1/models") >= 3, $"expected a model-list check every 300 ms; wall saw: {wall.Describe()}");
        Assert.Empty(wall.Inference);
    }

    [Fact]
    public async Task BackendFlag_NameEqualsUrl_DiscoversServesAndBillsUnderThatName()
    {
        await using var wall = await FaultUpstream.StartAsync("flagwall", "flag-model");
        await using var gateway = await new RemoteSetup().StartAsync(["flag-model"], extraArgs: ["--backend", $"wallb={wall.BaseUrl}"]);
        using var cts = Budget();

        var (status, body, id, _) = await SendAsync(gateway, Chat("flag-model"), cts.Token);

        Assert.True(status == 200, $"{status}: {Trim(body)}");
        Assert.Equal("flag-model", wall.Inference.Single().Model);
        Assert.Equal("wallb", (await LedgerAsync(gateway, id)).Backend);
    }

    [Fact]
    public async Task BackendWeights_3To1_SplitEightySequentialRequestsAccordingly()
    {
        await using var heavy = await FaultUpstream.StartAsync("heavy", "shared");
        await using var light = await FaultUpstream.StartAsync("light", "shared");
        await using var gateway = await new RemoteSetup()
            .Backend("heavy", heavy, "shared").Set("Backends:heavy:Weight", 3)
            .Backend("light", light, "shared").Set("Backends:light:Weight", 1)
            .StartAsync(["shared"]);

        await SendSequentiallyAsync(gateway, "shared", 80);

        // Expected 60:20. Weighted random stays within [50, 70] with p > 0.98; an unweighted split (40:40) lands there with p < 0.02.
        Assert.InRange(heavy.Inference.Count, 50, 70);
        Assert.Equal(80, heavy.Inference.Count + light.Inference.Count);
    }

    [Fact]
    public async Task RouteTargetWeights_3To1_SplitEightySequentialRequestsAccordingly()
    {
        await using var a = await FaultUpstream.StartAsync("a", "model-a");
        await using var b = await FaultUpstream.StartAsync("b", "model-b");
        await using var gateway = await new RemoteSetup()
            .Backend("a", a, "model-a").Backend("b", b, "model-b")
            .Route("split", [("a", "model-a"), ("b", "model-b")])
            .Set("Routes:split:Targets:0:Weight", 3).Set("Routes:split:Targets:1:Weight", 1)
            .StartAsync(["split"]);

        await SendSequentiallyAsync(gateway, "split", 80);

        Assert.InRange(a.Inference.Count, 50, 70);
        Assert.Equal(80, a.Inference.Count + b.Inference.Count);
    }

    [Fact]
    public async Task LeastOutstanding_ASlowBackendGetsFewerOfConcurrentRequests()
    {
        await using var fast = await FaultUpstream.StartAsync("fast", "shared");
        await using var slow = await FaultUpstream.StartAsync("slow", "shared");
        slow.Serve("shared", new FaultSpec { FirstTokenDelayMs = 500 });
        await using var gateway = await new RemoteSetup().Backend("fast", fast, "shared").Backend("slow", slow, "shared").StartAsync(["shared"]);
        using var cts = Budget();

        var clients = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                var (status, body, _, _) = await SendAsync(gateway, Chat("shared", maxTokens: 1), cts.Token);
                Assert.True(status == 200, $"{status}: {Trim(body)}");
            }
        }, cts.Token)).ToArray();
        await Task.WhenAll(clients);

        // 8 clients x 15 requests, the slow backend 500 ms per answer (simulated): an even split gives it 60 of 120
        // (1st percentile 47); a draw favouring fewer in flight (weight / (1 + outstanding)) gives it ~34 (99th
        // percentile 43); strict least-outstanding ~13.
        Assert.Equal(120, fast.Inference.Count + slow.Inference.Count);
        Assert.True(slow.Inference.Count <= 44, $"the slow backend got {slow.Inference.Count} of 120 requests");
    }

    [Fact]
    public async Task DeadLocalWorker_RequestsForItsModelFailOverToARemoteBackendServingTheSameName()
    {
        await using var wall = await FaultUpstream.StartAsync("remote", "chat");
        await using var gateway = await new RemoteSetup().Backend("remote", wall, "chat")
            .StartAsync(["chat"], local: [new ModelSpec("chat", TestModels.StoriesChat)]);
        await gateway.WaitReadyAsync(TimeSpan.FromSeconds(60));
        using var cts = Budget();
        var workers = JsonDocument.Parse(await gateway.Http.GetStringAsync("/admin/workers", cts.Token)).RootElement.GetProperty("workers");
        var pid = workers.EnumerateArray().Single(w => w.GetProperty("name").GetString() == "chat").GetProperty("pid").GetInt32();

        Process.GetProcessById(pid).Kill(); // SIGKILL: the local backend is dead until the supervisor restarts it
        var rows = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var (status, body, id, _) = await SendAsync(gateway, Chat("chat", maxTokens: 3), cts.Token);
            var elapsed = Ms(started, Stopwatch.GetTimestamp());
            Assert.True(status == 200, $"request {i + 1} after the worker died: {status} {Trim(body)}");
            Assert.True(elapsed < 3000, $"request {i + 1} took {elapsed:F0} ms; a dead local worker must not be waited for while a remote serves the model");
            rows.Add(id);
        }

        var backends = new List<string>();
        foreach (var id in rows)
        {
            backends.Add((await LedgerAsync(gateway, id)).Backend);
        }

        Assert.Contains("remote", backends);
        Assert.All(backends, b => Assert.Contains(b, (string[])["local", "remote"]));
        Assert.Equal(backends.Count(b => b == "remote"), wall.Inference.Count);
    }

    [Fact]
    public async Task Ledger_NamesTheBackendThatAnswered_InAdminUsageAndTheUsageCli()
    {
        await using var alpha = await FaultUpstream.StartAsync("alpha", "alpha-model");
        await using var beta = await FaultUpstream.StartAsync("beta", "beta-model");
        await using var gateway = await new RemoteSetup().Backend("alpha", alpha, "alpha-model").Backend("beta", beta, "beta-model").StartAsync(["alpha-model", "beta-model"]);
        using var cts = Budget();

        Assert.Equal(200, (await SendAsync(gateway, Chat("alpha-model", maxTokens: 5), cts.Token)).Status);
        using (var streamed = await PostAsync(gateway, Chat("alpha-model", stream: true, maxTokens: 3), cts.Token))
        {
            Assert.True((await ReadEventsAsync(streamed, cts.Token))[^1].IsDone);
        }

        Assert.Equal(200, (await SendAsync(gateway, Chat("beta-model", maxTokens: 2), cts.Token)).Status);
        var prompt = FaultUpstream.PromptTokens(alpha.Inference[0].Json);

        var http = await UsageByBackendAsync(gateway, cts.Token);
        var (code, output, error) = await EnclaveCommand.RunAsync(["usage", "--json", "--by", "backend", "--data-dir", gateway.DataDir]);
        Assert.True(code == 0, $"enclave usage failed ({code}): {error}");
        var cli = JsonDocument.Parse(output).RootElement.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("group").GetString()!, r => r.Clone());

        foreach (var (source, rows) in (ReadOnlySpan<(string, Dictionary<string, JsonElement>)>)[("/admin/usage", http), ("enclave usage", cli)])
        {
            Assert.True(rows.Keys.Order().SequenceEqual(["alpha", "beta"]), $"{source} groups: {string.Join(",", rows.Keys)}");
            Assert.Equal((2L, 8L, 2L * prompt), Totals(rows["alpha"]));
            Assert.Equal((1L, 2L, (long)prompt), Totals(rows["beta"]));
        }
    }

    private static (long Requests, long Completion, long Prompt) Totals(JsonElement row) =>
        (row.GetProperty("requests").GetInt64(), row.GetProperty("completion_tokens").GetInt64(), row.GetProperty("prompt_tokens").GetInt64());

    private static async Task SendSequentiallyAsync(GatewayProcess gateway, string model, int count)
    {
        using var cts = Budget();
        var body = Chat(model, maxTokens: 1);
        for (var i = 0; i < count; i++)
        {
            var (status, answer, _, _) = await SendAsync(gateway, body, cts.Token);
            Assert.True(status == 200, $"request {i + 1}: {status} {Trim(answer)}");
        }
    }
}
