using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using static Enclave.Tests.Backends.Remote.RemoteApi;

namespace Enclave.Tests.Backends.Remote;

/// <summary>
/// RELIABILITY.md §6 F8–F13 against a real gateway: once a stream has started, an upstream failure ends it with one
/// final error event (never <c>[DONE]</c>, never a clean finish), promptly, and the ledger records what was
/// produced; bad and oversized upstream answers never reach the client as such.
/// </summary>
public sealed class AfterFirstByteFaultTests
{
    private static CancellationTokenSource Budget() => new(TimeSpan.FromSeconds(40));

    private static void AssertTruncatedNotSuccess(List<TimedEvent> events, string code)
    {
        Assert.False(events.Any(e => e.IsDone), "a broken stream must not end with [DONE]");
        var error = events[^1].Error;
        Assert.True(error is not null, $"the last event must be an error event; got {Trim(events[^1].Data)}");
        Assert.Equal(code, Code(error.Value));
        foreach (var e in events.Where(e => !e.IsDone && e.Error is null))
        {
            var choices = JsonDocument.Parse(e.Data).RootElement.GetProperty("choices");
            Assert.All(choices.EnumerateArray(), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("finish_reason").ValueKind));
        }
    }

    [Theory]
    [InlineData("f8-cut-after-40")]
    [InlineData("f8-end-after-40")]
    public async Task F08_StreamCutAfter40Of60Tokens_ErrorEventWithinOneSecond_NoDone_LedgerHasThePartialTokens(string model)
    {
        await using var wall = await FaultUpstream.StartAsync("primary", model);
        await using var gateway = await new RemoteSetup().Backend("primary", wall, model).StartAsync([model]);
        using var cts = Budget();

        using var response = await PostAsync(gateway, Chat(model, stream: true, maxTokens: 60), cts.Token);
        var events = await ReadEventsAsync(response, cts.Token);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(FaultUpstream.ContentOf(40), Content(events));
        AssertTruncatedNotSuccess(events, "upstream_stream_interrupted");
        var cut = wall.Inference.Single();
        var late = Ms(cut.FaultAt, events[^1].At);
        Assert.True(late <= 1000, $"the error event came {late:F0} ms after the upstream broke off (G6: <= 1 s)");

        var row = await LedgerAsync(gateway, RequestId(response));
        Assert.Equal("upstream_stream_interrupted", row.ErrorCode);
        Assert.Equal(40, row.CompletionTokens);
        Assert.Equal("primary", row.Backend);
    }

    [Fact]
    public async Task F09_StreamStalls_IdleTimeoutEndsItWithAnErrorEvent_TheUpstreamCallIsReleased_AndTheNextCallSucceeds()
    {
        const string model = "f9-stall-after-5-for-30000";
        await using var wall = await FaultUpstream.StartAsync("primary", model, "ok");
        await using var gateway = await new RemoteSetup()
            .Backend("primary", wall, model, "ok")
            .Timeouts("primary", idleMs: 1500)
            // One request at a time: the next call can only succeed if the stalled one gave its place back.
            .Set("Backends:primary:MaxConcurrency", 1)
            .StartAsync([model, "ok"]);
        using var cts = Budget();

        using (var response = await PostAsync(gateway, Chat(model, stream: true, maxTokens: 10), cts.Token))
        {
            var events = await ReadEventsAsync(response, cts.Token);
            Assert.Equal(FaultUpstream.ContentOf(5), Content(events));
            AssertTruncatedNotSuccess(events, "upstream_idle_timeout");
            var silence = Ms(ContentChunks(events).Last().Event.At, events[^1].At);
            Assert.InRange(silence, 1300, 2500);
            Assert.Equal("upstream_idle_timeout", (await LedgerAsync(gateway, RequestId(response))).ErrorCode);
        }

        var stalled = await wall.WaitForAsync(r => r.Model == model && r.AbortedAt != 0, TimeSpan.FromSeconds(3));
        Assert.Equal("stall", stalled.Outcome);

        var (status, body, _, _) = await SendAsync(gateway, Chat("ok"), cts.Token);
        Assert.True(status == 200, $"the next call must succeed; got {status}: {Trim(body)}");
    }

    [Fact]
    public async Task F10_InvalidJsonInTheTenthEvent_GarbageNeverForwarded_StreamEndsWithInvalidResponseError()
    {
        const string model = "f10-bad-json-at-10";
        await using var wall = await FaultUpstream.StartAsync("primary", model);
        await using var gateway = await new RemoteSetup().Backend("primary", wall, model).StartAsync([model]);
        using var cts = Budget();

        using var response = await PostAsync(gateway, Chat(model, stream: true, maxTokens: 20), cts.Token);
        var events = await ReadEventsAsync(response, cts.Token);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.DoesNotContain(events, e => e.Data.Contains("WALL-GARBAGE", StringComparison.Ordinal));
        Assert.All(events.Where(e => !e.IsDone), e => JsonDocument.Parse(e.Data).Dispose());
        // Events 2..9 carried tokens 0..7; everything valid before the bad event reaches the client.
        Assert.Equal(FaultUpstream.ContentOf(8), Content(events));
        AssertTruncatedNotSuccess(events, "upstream_invalid_response");
        Assert.Equal("upstream_invalid_response", (await LedgerAsync(gateway, RequestId(response))).ErrorCode);
    }

    [Fact]
    public async Task F11_CleanCloseWithFinishReasonButNoDone_GatewayFinishesTheStreamWithinOneSecond_UsageReported()
    {
        const string model = "f11-no-done";
        await using var wall = await FaultUpstream.StartAsync("primary", model);
        await using var gateway = await new RemoteSetup().Backend("primary", wall, model).StartAsync([model]);
        using var cts = Budget();

        var body = Chat(model, stream: true, maxTokens: 6, extra: b => b["stream_options"] = new JsonObject { ["include_usage"] = true });
        using var response = await PostAsync(gateway, body, cts.Token);
        var events = await ReadEventsAsync(response, cts.Token);

        Assert.Equal(FaultUpstream.ContentOf(6), Content(events));
        Assert.True(events[^1].IsDone, $"the gateway should finish a complete stream with [DONE]; last event: {Trim(events[^1].Data)}");
        Assert.DoesNotContain(events, e => e.Error is not null);
        Assert.Equal(6, UsageChunk(events)?.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var late = Ms(wall.Inference.Single().EndedAt, events[^1].At);
        Assert.True(late <= 1000, $"[DONE] came {late:F0} ms after the upstream closed (F11: <= 1 s)");
        var row = await LedgerAsync(gateway, RequestId(response));
        Assert.Equal((200, (string?)null, 6), (row.Status, row.ErrorCode, row.CompletionTokens));
    }

    [Fact]
    public async Task F12_ContextLengthExceeded_NotRetriedNorFailedOver_StatusAndEnvelopePassedThrough()
    {
        await using var primary = await FaultUpstream.StartAsync("primary", "f12-context-length");
        await using var fallback = await FaultUpstream.StartAsync("fallback", "spare");
        await using var gateway = await new RemoteSetup()
            .Backend("primary", primary, "f12-context-length").Backend("fallback", fallback, "spare")
            .Route("chat", [("primary", "f12-context-length")], ("fallback", "spare"))
            .StartAsync(["chat"]);
        using var cts = Budget();

        var (status, body, id, _) = await SendAsync(gateway, Chat("chat", stream: true), cts.Token);

        Assert.True(status == 400, $"expected the upstream's 400, got {status}: {Trim(body)}");
        var error = Envelope(body);
        Assert.Equal("context_length_exceeded", Code(error));
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Equal(FaultSpec.ContextLengthExceeded.ErrorMessage, error.GetProperty("message").GetString());
        Assert.Single(primary.Inference);
        Assert.Empty(fallback.Inference);
        var row = await LedgerAsync(gateway, id);
        Assert.Equal((400, "context_length_exceeded"), (row.Status, row.ErrorCode));
    }

    [Fact]
    public async Task F13_100MBErrorBody_ReadAtMost64KiB_AnsweredPromptly_NoMemoryGrowth()
    {
        await using var wall = await FaultUpstream.StartAsync("primary", "f13-huge-error", "ok");
        await using var gateway = await new RemoteSetup().Backend("primary", wall, "f13-huge-error", "ok").StartAsync(["f13-huge-error", "ok"]);
        using var cts = Budget();
        Assert.Equal(200, (await SendAsync(gateway, Chat("ok"), cts.Token)).Status);
        var peakBefore = PeakRssBytes(gateway.ProcessId);

        var started = Stopwatch.GetTimestamp();
        var (status, body, _, _) = await SendAsync(gateway, Chat("f13-huge-error"), cts.Token);
        var elapsed = Ms(started, Stopwatch.GetTimestamp());

        Assert.True(status == 400, $"expected the upstream's 400, got {status}: {Trim(body)}");
        Envelope(body);
        Assert.True(body.Length <= 68 * 1024, $"the client got {body.Length} bytes; the upstream body is read to 64 KiB at most");
        Assert.True(elapsed < 3000, $"took {elapsed:F0} ms");
        var huge = await wall.WaitForAsync(r => r.Model == "f13-huge-error" && r.EndedAt != 0, TimeSpan.FromSeconds(5));
        Assert.True(huge.AbortedAt != 0 && huge.BytesSent < 100L * 1024 * 1024, $"the gateway should stop reading and close; the wall sent {huge.BytesSent:N0} bytes");
        var growth = PeakRssBytes(gateway.ProcessId) - peakBefore;
        Assert.True(growth < 64L * 1024 * 1024, $"peak RSS grew by {growth / 1024 / 1024} MiB");
        Assert.Equal(200, (await SendAsync(gateway, Chat("ok"), cts.Token)).Status);
    }

    private static long PeakRssBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
