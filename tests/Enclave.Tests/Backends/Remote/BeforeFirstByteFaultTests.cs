using System.Diagnostics;
using static Enclave.Tests.Backends.Remote.RemoteApi;

namespace Enclave.Tests.Backends.Remote;

/// <summary>
/// RELIABILITY.md §6 F1–F7 against a real gateway: faults before the first byte reaches the client are retried or
/// failed over within MaxAttempts and the time budget, and the client sees either a clean answer or one envelope.
/// </summary>
public sealed class BeforeFirstByteFaultTests
{
    private static CancellationTokenSource Budget() => new(TimeSpan.FromSeconds(40));

    [Fact]
    public async Task F01_429WithRetryAfter2_GatewayWaitsItOut_ThenRetriesTheSameTarget()
    {
        const string model = "f1-429-retry-after-2";
        await using var wall = await FaultUpstream.StartAsync("primary", model);
        await using var gateway = await new RemoteSetup().Backend("primary", wall, model).StartAsync([model]);
        using var cts = Budget();

        var (status, body, _, _) = await SendAsync(gateway, Chat(model), cts.Token);

        Assert.True(status == 200, $"expected 200 after waiting out Retry-After, got {status}: {Trim(body)}");
        var attempts = wall.Inference;
        Assert.True(attempts.Count == 2, $"expected exactly 2 attempts (429, then the retry); wall saw: {wall.Describe()}");
        var gap = Ms(attempts[0].ReceivedAt, attempts[1].ReceivedAt);
        Assert.True(gap >= 1800, $"the retry came {gap:F0} ms after the 429; Retry-After: 2 asks for at least 2 s (F1: next attempt >= 1.8 s later)");
        Assert.Contains(FaultUpstream.ContentOf(5), body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task F01_RetryAfterLongerThanMaxRetryAfter_NoOtherTarget_Answers429WithRetryAfterAtOnce()
    {
        await using var wall = await FaultUpstream.StartAsync("primary");
        wall.Serve("busy", FaultSpec.RateLimited(retryAfterSeconds: 30, faultyRequests: int.MaxValue));
        await using var gateway = await new RemoteSetup().Backend("primary", wall, "busy").Resilience("MaxRetryAfterMs", 1000).StartAsync(["busy"]);
        using var cts = Budget();

        var started = Stopwatch.GetTimestamp();
        var (status, body, _, response) = await SendAsync(gateway, Chat("busy"), cts.Token);
        var elapsed = Ms(started, Stopwatch.GetTimestamp());

        Assert.True(status == 429, $"expected 429, got {status}: {Trim(body)}");
        Assert.Equal("upstream_rate_limited", Code(Envelope(body)));
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.True(retryAfter is { } d && d.TotalSeconds is >= 29 and <= 30, $"Retry-After should pass on the upstream's 30 s, got '{response.Headers.RetryAfter}'");
        Assert.True(elapsed < 1500, $"a Retry-After beyond MaxRetryAfterMs must not be waited out; took {elapsed:F0} ms");
        Assert.Equal(1, wall.Attempts("busy"));
    }

    [Fact]
    public async Task F01_RetryAfterLongerThanMaxRetryAfter_FailsOverToTheFallbackAtOnce()
    {
        await using var primary = await FaultUpstream.StartAsync("primary");
        await using var fallback = await FaultUpstream.StartAsync("fallback");
        primary.Serve("busy", FaultSpec.RateLimited(retryAfterSeconds: 30, faultyRequests: int.MaxValue));
        await using var gateway = await new RemoteSetup()
            .Backend("primary", primary, "busy").Backend("fallback", fallback, "spare")
            .Route("chat", [("primary", "busy")], ("fallback", "spare"))
            .Resilience("MaxRetryAfterMs", 1000)
            .StartAsync(["chat"]);
        using var cts = Budget();

        var started = Stopwatch.GetTimestamp();
        var (status, body, _, _) = await SendAsync(gateway, Chat("chat"), cts.Token);

        Assert.True(status == 200, $"expected the fallback's answer, got {status}: {Trim(body)}");
        Assert.True(Ms(started, Stopwatch.GetTimestamp()) < 1500, "failing over must not wait for the primary's Retry-After");
        Assert.Equal(1, primary.Attempts("busy"));
        Assert.Equal(1, fallback.Attempts("spare"));
    }

    [Fact]
    public async Task F02_Persistent429WithoutRetryAfter_AtMost3SpacedAttempts_Then429WithRetryAfter()
    {
        await using var wall = await FaultUpstream.StartAsync("primary", "f2-429");
        await using var gateway = await new RemoteSetup().Backend("primary", wall, "f2-429").StartAsync(["f2-429"]);
        using var cts = Budget();

        var started = Stopwatch.GetTimestamp();
        var (status, body, _, response) = await SendAsync(gateway, Chat("f2-429"), cts.Token);

        Assert.True(status == 429, $"expected 429, got {status}: {Trim(body)}");
        Assert.Equal("upstream_rate_limited", Code(Envelope(body)));
        Assert.True(response.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 }, $"a 429 must carry Retry-After (seconds), got '{response.Headers.RetryAfter}'");
        var attempts = wall.Inference;
        Assert.InRange(attempts.Count, 1, 3);
        for (var i = 1; i < attempts.Count; i++)
        {
            var gap = Ms(attempts[i - 1].ReceivedAt, attempts[i].ReceivedAt);
            Assert.True(gap >= 50, $"attempt {i + 1} came {gap:F0} ms after the 429 before it; F2 asks for (jittered) backoff, not an immediate hammer");
        }

        Assert.True(Ms(started, Stopwatch.GetTimestamp()) < 10_000, "a persistent 429 must be answered within seconds");
    }

    [Fact]
    public async Task F02_Persistent429_FallbackAnswers_WithinMaxAttempts()
    {
        await using var primary = await FaultUpstream.StartAsync("primary", "f2-429");
        await using var fallback = await FaultUpstream.StartAsync("fallback", "spare");
        await using var gateway = await new RemoteSetup()
            .Backend("primary", primary, "f2-429").Backend("fallback", fallback, "spare")
            .Route("chat", [("primary", "f2-429")], ("fallback", "spare"))
            .StartAsync(["chat"]);
        using var cts = Budget();

        var (status, body, _, _) = await SendAsync(gateway, Chat("chat"), cts.Token);

        Assert.True(status == 200, $"expected the fallback's answer, got {status}: {Trim(body)}");
        Assert.InRange(primary.Inference.Count, 1, 2);
        Assert.Single(fallback.Inference);
    }

    [Fact]
    public async Task F03_500Once_RetriedOnceOnTheSameTarget_ClientSeesOneCleanStream()
    {
        await using var wall = await FaultUpstream.StartAsync("primary", "f3-500-once");
        await using var gateway = await new RemoteSetup().Backend("primary", wall, "f3-500-once").StartAsync(["f3-500-once"]);
        using var cts = Budget();

        using var response = await PostAsync(gateway, Chat("f3-500-once", stream: true), cts.Token);
        var events = await ReadEventsAsync(response, cts.Token);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(events[^1].IsDone, "the stream must end with [DONE]");
        Assert.Equal(FaultUpstream.ContentOf(5), Content(events));
        Assert.All(events.Where(e => !e.IsDone), e => Assert.Null(e.Error));
        Assert.Equal("500,ok", string.Join(",", wall.Inference.Select(r => r.Outcome)));
        var row = await LedgerAsync(gateway, RequestId(response));
        Assert.Equal(("primary", 200, (string?)null, 5), (row.Backend, row.Status, row.ErrorCode, row.CompletionTokens));
    }

    [Fact]
    public async Task F04_503Persistent_AtMostMaxAttemptsOverBothTargets_Then503WithRetryAfter_WithinBudget()
    {
        await using var a = await FaultUpstream.StartAsync("a", "f4-503");
        await using var b = await FaultUpstream.StartAsync("b", "f4-503");
        await using var gateway = await new RemoteSetup()
            .Backend("a", a, "f4-503").Backend("b", b, "f4-503")
            .Route("chat", [("a", "f4-503"), ("b", "f4-503")])
            .Timeouts("a", totalMs: 5000).Timeouts("b", totalMs: 5000)
            .StartAsync(["chat"]);
        using var cts = Budget();

        var started = Stopwatch.GetTimestamp();
        var (status, body, _, response) = await SendAsync(gateway, Chat("chat"), cts.Token);
        var elapsed = Ms(started, Stopwatch.GetTimestamp());

        Assert.True(status == 503, $"expected 503, got {status}: {Trim(body)}");
        Assert.Equal("upstream_unavailable", Code(Envelope(body)));
        Assert.NotNull(response.Headers.RetryAfter);
        var total = a.Inference.Count + b.Inference.Count;
        Assert.True(total <= 3, $"MaxAttempts is 3 per request; a saw {a.Inference.Count}, b saw {b.Inference.Count}");
        Assert.True(a.Inference.Count >= 1 && b.Inference.Count >= 1, $"both targets should be tried before giving up; a saw {a.Inference.Count}, b saw {b.Inference.Count}");
        Assert.True(elapsed < 6000, $"the request took {elapsed:F0} ms; the total budget is 5000 ms");
    }

    [Fact]
    public async Task F04_500Persistent_SingleTarget_502UpstreamError_AfterAtMostMaxAttempts()
    {
        await using var wall = await FaultUpstream.StartAsync("primary");
        wall.Serve("always-500", new FaultSpec { ErrorStatus = 500, ErrorMessage = "The server had an error while processing your request." });
        await using var gateway = await new RemoteSetup().Backend("primary", wall, "always-500").StartAsync(["always-500"]);
        using var cts = Budget();

        var (status, body, id, _) = await SendAsync(gateway, Chat("always-500", stream: true), cts.Token);

        Assert.True(status == 502, $"expected 502, got {status}: {Trim(body)}");
        Assert.Equal("upstream_error", Code(Envelope(body)));
        Assert.InRange(wall.Inference.Count, 2, 3);
        var row = await LedgerAsync(gateway, id);
        Assert.Equal((502, "upstream_error", 0), (row.Status, row.ErrorCode, row.CompletionTokens));
    }

    [Fact]
    public async Task F05_TcpResetBeforeHeaders_FailsOverToTheFallback_Answered()
    {
        await using var primary = await FaultUpstream.StartAsync("primary", "f5-rst");
        await using var fallback = await FaultUpstream.StartAsync("fallback", "spare");
        await using var gateway = await new RemoteSetup()
            .Backend("primary", primary, "f5-rst").Backend("fallback", fallback, "spare")
            .Route("chat", [("primary", "f5-rst")], ("fallback", "spare"))
            .StartAsync(["chat"]);
        using var cts = Budget();

        using var response = await PostAsync(gateway, Chat("chat", stream: true), cts.Token);
        var events = await ReadEventsAsync(response, cts.Token);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(events[^1].IsDone);
        Assert.Equal(FaultUpstream.ContentOf(5), Content(events));
        Assert.InRange(primary.Inference.Count, 1, 2);
        Assert.Single(fallback.Inference);
        Assert.Equal("fallback", (await LedgerAsync(gateway, RequestId(response))).Backend);
    }

    [Fact]
    public async Task F05_TcpResetOnce_SingleTarget_RetriedAndAnswered()
    {
        await using var wall = await FaultUpstream.StartAsync("primary", "f5-rst-once");
        await using var gateway = await new RemoteSetup().Backend("primary", wall, "f5-rst-once").StartAsync(["f5-rst-once"]);
        using var cts = Budget();

        var (status, body, _, _) = await SendAsync(gateway, Chat("f5-rst-once"), cts.Token);

        Assert.True(status == 200, $"a reset before headers is retried (MaxAttempts 3); got {status}: {Trim(body)}");
        Assert.Equal("ok", wall.Inference[^1].Outcome);
    }

    [Fact]
    public async Task F05_EveryTargetResets_502UpstreamUnreachable()
    {
        await using var wall = await FaultUpstream.StartAsync("primary", "f5-rst");
        await using var gateway = await new RemoteSetup().Backend("primary", wall, "f5-rst").StartAsync(["f5-rst"]);
        using var cts = Budget();

        var (status, body, _, _) = await SendAsync(gateway, Chat("f5-rst"), cts.Token);

        Assert.True(status == 502, $"expected 502, got {status}: {Trim(body)}");
        Assert.Equal("upstream_unreachable", Code(Envelope(body)));
        Assert.InRange(wall.Inference.Count, 1, 3);
    }

    [Fact]
    public async Task F06_AcceptsAndNeverAnswers_Streamed_FailsOverAfterTheFirstTimeout()
    {
        await using var primary = await FaultUpstream.StartAsync("primary", "f6-hang");
        await using var fallback = await FaultUpstream.StartAsync("fallback", "spare");
        await using var gateway = await new RemoteSetup()
            .Backend("primary", primary, "f6-hang").Backend("fallback", fallback, "spare")
            .Timeouts("primary", firstTokenMs: 1000)
            .Route("chat", [("primary", "f6-hang")], ("fallback", "spare"))
            .StartAsync(["chat"]);
        using var cts = Budget();

        var started = Stopwatch.GetTimestamp();
        using var response = await PostAsync(gateway, Chat("chat", stream: true), cts.Token);
        var events = await ReadEventsAsync(response, cts.Token);
        var elapsed = Ms(started, Stopwatch.GetTimestamp());

        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(events[^1].IsDone);
        Assert.Equal(FaultUpstream.ContentOf(5), Content(events));
        Assert.InRange(elapsed, 900, 2500);
        Assert.True(primary.Inference.Count == 1, $"a silent upstream is left after its first timeout, not retried; primary saw: {primary.Describe()}");
        await primary.WaitForAsync(r => r.IsInference && r.AbortedAt != 0, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task F06_AcceptsAndNeverAnswers_NotStreamed_504UpstreamTimeoutAtTheTotalBudget()
    {
        await using var wall = await FaultUpstream.StartAsync("primary", "f6-hang");
        await using var gateway = await new RemoteSetup().Backend("primary", wall, "f6-hang").Timeouts("primary", totalMs: 2000).StartAsync(["f6-hang"]);
        using var cts = Budget();

        var started = Stopwatch.GetTimestamp();
        var (status, body, _, _) = await SendAsync(gateway, Chat("f6-hang"), cts.Token);
        var elapsed = Ms(started, Stopwatch.GetTimestamp());

        Assert.True(status == 504, $"expected 504, got {status}: {Trim(body)}");
        Assert.Equal("upstream_timeout", Code(Envelope(body)));
        Assert.InRange(elapsed, 1800, 3000);
        Assert.Single(wall.Inference);
        await wall.WaitForAsync(r => r.IsInference && r.AbortedAt != 0, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task F07_FirstTokenAfter20s_WithFirstTokenLimit_FailsOverBeforeAnyByte()
    {
        await using var primary = await FaultUpstream.StartAsync("primary", "f7-ttft-20000");
        await using var fallback = await FaultUpstream.StartAsync("fallback", "spare");
        await using var gateway = await new RemoteSetup()
            .Backend("primary", primary, "f7-ttft-20000").Backend("fallback", fallback, "spare")
            .Timeouts("primary", firstTokenMs: 1000)
            .Route("chat", [("primary", "f7-ttft-20000")], ("fallback", "spare"))
            .StartAsync(["chat"]);
        using var cts = Budget();

        var started = Stopwatch.GetTimestamp();
        using var response = await PostAsync(gateway, Chat("chat", stream: true), cts.Token);
        var events = await ReadEventsAsync(response, cts.Token);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(Ms(started, Stopwatch.GetTimestamp()) < 2500, "the first-token limit (1 s) should move the request to the fallback");
        Assert.True(events[^1].IsDone);
        Assert.All(events.Where(e => !e.IsDone), e => Assert.StartsWith("{\"id\":\"chatcmpl-fallback-", e.Data, StringComparison.Ordinal));
        Assert.Single(primary.Inference);
    }

    [Fact]
    public async Task F07_FirstTokenAfter2500ms_WithinTheDefaultLimit_IsAnswered()
    {
        await using var wall = await FaultUpstream.StartAsync("primary", "f7-ttft-2500");
        await using var gateway = await new RemoteSetup().Backend("primary", wall, "f7-ttft-2500").StartAsync(["f7-ttft-2500"]);
        using var cts = Budget();

        var started = Stopwatch.GetTimestamp();
        using var response = await PostAsync(gateway, Chat("f7-ttft-2500", stream: true), cts.Token);
        var events = await ReadEventsAsync(response, cts.Token);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(Ms(started, Stopwatch.GetTimestamp()) >= 2400);
        Assert.True(events[^1].IsDone);
        Assert.Equal(FaultUpstream.ContentOf(5), Content(events));
        Assert.Single(wall.Inference);
    }
}
