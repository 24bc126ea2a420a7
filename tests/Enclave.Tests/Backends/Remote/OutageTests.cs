using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Enclave.Tests.Infrastructure;
using static Enclave.Tests.Backends.Remote.RemoteApi;

namespace Enclave.Tests.Backends.Remote;

/// <summary>
/// RELIABILITY.md §6 F18, F19 and F29 (unreachable) with G9: a backend that is down opens its circuit, traffic goes
/// to the fallback at once and returns when the backend recovers; the answer and the bill name who answered.
/// </summary>
public sealed class OutageTests
{
    private static CancellationTokenSource Budget() => new(TimeSpan.FromSeconds(60));

    [Fact]
    public async Task F18_PrimaryDownThenUp_CircuitOpens_AllServedByTheFallback_BackOnThePrimaryAfterRecovery()
    {
        const int openMs = 2000;
        await using var primary = await FaultUpstream.StartAsync("primary", "main");
        await using var fallback = await FaultUpstream.StartAsync("fallback", "spare");
        await using var gateway = await new RemoteSetup()
            .Backend("primary", primary, "main").Backend("fallback", fallback, "spare")
            .Route("chat", [("primary", "main")], ("fallback", "spare"))
            .Resilience("BreakerOpenMs", openMs).Resilience("HealthCheckIntervalMs", 500)
            .StartAsync(["chat"]);
        using var cts = Budget();

        primary.GoDown();
        var touchedPrimary = new List<bool>();
        var latencies = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            var before = primary.Attempts("main");
            var started = Stopwatch.GetTimestamp();
            var (status, body, _, _) = await SendAsync(gateway, Chat("chat"), cts.Token);
            latencies.Add(Ms(started, Stopwatch.GetTimestamp()));
            Assert.True(status == 200, $"request {i + 1} during the outage: {status} {Trim(body)}");
            Assert.Equal("spare", JsonDocument.Parse(body).RootElement.GetProperty("model").GetString());
            touchedPrimary.Add(primary.Attempts("main") > before);
        }

        // 5 consecutive failures open the circuit: with one retry per request that is 3 requests; one more may be a trial.
        Assert.True(primary.Attempts("main") <= 7, $"the open circuit should keep requests off the primary; it saw {primary.Attempts("main")} inference requests");
        Assert.True(touchedPrimary.Skip(5).Count(t => t) <= 1, $"requests 6-10 should skip the open circuit (at most one trial): {string.Join(",", touchedPrimary)}");
        var openLatency = latencies.Skip(5).Average();
        Assert.True(openLatency < 500, $"while the circuit is open requests go to the fallback at once; they took {openLatency:F0} ms on average");

        primary.ComeUp();
        var recovered = Stopwatch.GetTimestamp();
        var backOnPrimary = false;
        while (!backOnPrimary && Ms(recovered, Stopwatch.GetTimestamp()) < openMs + 5000)
        {
            var (status, body, _, _) = await SendAsync(gateway, Chat("chat"), cts.Token);
            Assert.True(status == 200, $"request after recovery: {status} {Trim(body)}");
            backOnPrimary = JsonDocument.Parse(body).RootElement.GetProperty("model").GetString() == "main";
            await Task.Delay(200, cts.Token); // one request every 200 ms, as steady traffic
        }

        Assert.True(backOnPrimary, $"traffic did not return to the primary within {openMs + 5000} ms of its recovery");
        for (var i = 0; i < 5; i++)
        {
            var (_, body, _, _) = await SendAsync(gateway, Chat("chat"), cts.Token);
            Assert.Equal("main", JsonDocument.Parse(body).RootElement.GetProperty("model").GetString());
        }
    }

    [Fact]
    public async Task G9_HalfOfTwentyAttemptsFail_CircuitOpensOnTheFailureRatio_RestGoToTheFallback()
    {
        // Every other request fails, so the circuit can only open on the ratio (>= 50 % of >= 20), never on 5 in a row.
        await using var primary = await FaultUpstream.StartAsync("primary", "flaky-503-every-2");
        await using var fallback = await FaultUpstream.StartAsync("fallback", "spare");
        await using var gateway = await new RemoteSetup()
            .Backend("primary", primary, "flaky-503-every-2").Backend("fallback", fallback, "spare")
            .Route("chat", [("primary", "flaky-503-every-2")], ("fallback", "spare"))
            .Resilience("BreakerOpenMs", 30_000).Resilience("HealthCheckIntervalMs", 60_000)
            .StartAsync(["chat"]);
        using var cts = Budget();

        var touchedPrimary = new List<bool>();
        for (var i = 0; i < 30; i++)
        {
            var before = primary.Inference.Count;
            var (status, body, _, _) = await SendAsync(gateway, Chat("chat", maxTokens: 1), cts.Token);
            Assert.True(status == 200, $"request {i + 1}: {status} {Trim(body)}");
            touchedPrimary.Add(primary.Inference.Count > before);
        }

        // Outcomes F,S,F,S,...: the 21st (a failure, 11 of 21) is the first to meet the ratio over >= 20.
        Assert.InRange(primary.Inference.Count, 20, 22);
        Assert.True(touchedPrimary.Skip(22).All(t => !t), $"after the circuit opened requests must skip the primary: {string.Join(",", touchedPrimary.Select(t => t ? 1 : 0))}");
    }

    [Fact]
    public async Task G9_OpenCircuitWithoutFallback_FailsFastWith503AndRetryAfter_WithoutTouchingTheUpstream()
    {
        await using var wall = await FaultUpstream.StartAsync("broken", "f4-503");
        await using var gateway = await new RemoteSetup().Backend("broken", wall, "f4-503").Resilience("HealthCheckIntervalMs", 60_000).StartAsync(["f4-503"]);
        using var cts = Budget();

        for (var i = 0; i < 4; i++)
        {
            var before = wall.Inference.Count;
            var started = Stopwatch.GetTimestamp();
            var (status, body, _, response) = await SendAsync(gateway, Chat("f4-503"), cts.Token);
            var elapsed = Ms(started, Stopwatch.GetTimestamp());
            Assert.True(status == 503, $"request {i + 1}: {status} {Trim(body)}");
            if (wall.Inference.Count == before)
            {
                Assert.Equal("upstream_unavailable", Code(Envelope(body)));
                Assert.True(response.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 and <= 5 }, $"Retry-After should say when the circuit may close (BreakerOpenMs 5 s): '{response.Headers.RetryAfter}'");
                Assert.True(elapsed < 500, $"an open circuit fails fast; took {elapsed:F0} ms");
                Assert.True(wall.Inference.Count <= 6, $"5 consecutive failures open the circuit; the upstream saw {wall.Inference.Count}");
                return;
            }
        }

        Assert.Fail($"the circuit never opened; the upstream saw every request: {wall.Describe()}");
    }

    [Fact]
    public async Task F19_Primary503_FallbackAnswers_ModelAndUsageNameTheFallback_FailedAttemptsNotBilled()
    {
        await using var primary = await FaultUpstream.StartAsync("primary");
        await using var fallback = await FaultUpstream.StartAsync("fallback");
        primary.Serve("gpt-primary", FaultSpec.Parse("f4-503"));
        await using var gateway = await new RemoteSetup()
            .Backend("primary", primary, "gpt-primary").Backend("fallback", fallback, "gpt-fallback")
            .Route("chat", [("primary", "gpt-primary")], ("fallback", "gpt-fallback"))
            .StartAsync(["chat"]);
        using var cts = Budget();

        var (status, body, wholeId, _) = await SendAsync(gateway, Chat("chat", maxTokens: 7), cts.Token);
        Assert.True(status == 200, $"{status}: {Trim(body)}");
        var whole = JsonDocument.Parse(body).RootElement;
        Assert.Equal("gpt-fallback", whole.GetProperty("model").GetString());
        var expectedPrompt = FaultUpstream.PromptTokens(fallback.Inference[^1].Json);
        Assert.Equal(7, whole.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(expectedPrompt, whole.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        var streamed = Chat("chat", stream: true, maxTokens: 4, extra: b => b["stream_options"] = new JsonObject { ["include_usage"] = true });
        using var response = await PostAsync(gateway, streamed, cts.Token);
        var events = await ReadEventsAsync(response, cts.Token);
        Assert.True(events[^1].IsDone);
        Assert.All(events.Where(e => !e.IsDone), e => Assert.Equal("gpt-fallback", JsonDocument.Parse(e.Data).RootElement.GetProperty("model").GetString()));
        Assert.Equal(4, UsageChunk(events)?.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.True(primary.Inference.Count >= 2, "the primary was tried for both requests");

        var rows = await LedgerRowsAsync(gateway.DataDir);
        Assert.Equal(2, rows.Count);
        var first = rows.Single(r => r.RequestId == wholeId);
        Assert.Equal(("fallback", 200, (string?)null, expectedPrompt, 7), (first.Backend, first.Status, first.ErrorCode, first.PromptTokens, first.CompletionTokens));
        var second = rows.Single(r => r.RequestId == RequestId(response));
        Assert.Equal(("fallback", 4), (second.Backend, second.CompletionTokens));

        var usage = await UsageByBackendAsync(gateway, cts.Token);
        Assert.False(usage.ContainsKey("primary"), "failed attempts on the primary are not billed");
        Assert.Equal(2, usage["fallback"].GetProperty("requests").GetInt64());
        Assert.Equal(11, usage["fallback"].GetProperty("completion_tokens").GetInt64());
    }

    [Fact]
    public async Task F29_ConnectionRefused_502UpstreamUnreachable_Promptly()
    {
        var closedPort = GatewayProcess.FreeTcpPort();
        await using var gateway = await new RemoteSetup().Backend("gone", $"http://127.0.0.1:{closedPort}/v1", "gone-model").StartAsync([]);
        using var cts = Budget();

        var started = Stopwatch.GetTimestamp();
        var (status, body, id, _) = await SendAsync(gateway, Chat("gone-model"), cts.Token);

        Assert.True(status == 502, $"expected 502, got {status}: {Trim(body)}");
        Assert.Equal("upstream_unreachable", Code(Envelope(body)));
        Assert.True(Ms(started, Stopwatch.GetTimestamp()) < 3000, "a refused connection is answered at once");
        Assert.Equal((502, "upstream_unreachable", "gone"), await LedgerTripleAsync(gateway, id));
    }

    [Fact]
    public async Task F29_DnsFailure_502UpstreamUnreachable()
    {
        // .invalid never resolves (RFC 6761).
        await using var gateway = await new RemoteSetup().Backend("nowhere", "http://enclave-wall.invalid/v1", "nowhere-model").Timeouts("nowhere", connectMs: 3000).StartAsync([]);
        using var cts = Budget();

        var started = Stopwatch.GetTimestamp();
        var (status, body, _, _) = await SendAsync(gateway, Chat("nowhere-model"), cts.Token);

        Assert.True(status == 502, $"expected 502, got {status}: {Trim(body)}");
        Assert.Equal("upstream_unreachable", Code(Envelope(body)));
        Assert.True(Ms(started, Stopwatch.GetTimestamp()) < 8000);
    }

    private static async Task<(int, string?, string)> LedgerTripleAsync(GatewayProcess gateway, string id)
    {
        var row = await LedgerAsync(gateway, id);
        return (row.Status, row.ErrorCode, row.Backend);
    }
}
