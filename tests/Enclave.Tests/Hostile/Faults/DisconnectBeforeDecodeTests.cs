using System.Net;
using Enclave.Tests.Infrastructure;
using Xunit.Abstractions;
using static Enclave.Tests.Hostile.Faults.FaultProbe;

namespace Enclave.Tests.Hostile.Faults;

/// <summary>
/// RELIABILITY F16: a client that disconnects while its request waits in the engine's queue, or while its prompt is
/// being prefilled, costs nothing more: the request leaves the queue at once (freeing its place) and is never
/// admitted, or its prefill stops at the next decode step, and no token is ever decoded for it. The ledger records
/// <c>client_closed</c>.
/// </summary>
[Collection(OneSlotGatewayGroup.Name)]
public sealed class DisconnectBeforeDecodeTests(OneSlotGateway fixture, ITestOutputHelper output)
{
    private const string Model = OneSlotGateway.Model;

    [Fact]
    public async Task F16_ClientLeavesWhileQueued_RequestLeavesQueueAtOnceAndNeverRuns()
    {
        var gateway = fixture.Gateway;
        await fixture.IdleAsync();
        var ledgerBefore = (await LedgerAsync(gateway.DataDir)).Keys.ToHashSet();

        // A holds the only slot, decoding.
        using var holderCancel = new CancellationTokenSource();
        using var holder = await gateway.Http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Json(OneSlotGateway.LongStream()) }, HttpCompletionOption.ResponseHeadersRead, holderCancel.Token);
        Assert.Equal(HttpStatusCode.OK, holder.StatusCode);
        var (decoding, _) = await WaitEngineAsync(gateway, Model, l => l.Active == 1 && l.Generated > 0, TimeSpan.FromSeconds(30), "A decoding");

        // B (not streamed) waits in the one queue place; then its client gives up.
        using var queuedCancel = new CancellationTokenSource();
        var queued = gateway.Http.PostAsync("/v1/completions", Json(new { model = Model, prompt = "A request that waits", max_tokens = 20, temperature = 0 }), queuedCancel.Token);
        await WaitEngineAsync(gateway, Model, l => l.Queued == 1, TimeSpan.FromSeconds(30), "B queued");
        await queuedCancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
        var (afterB, bLeft) = await WaitEngineAsync(gateway, Model, l => l.Queued == 0, TimeSpan.FromSeconds(10), "B out of the queue");
        Assert.Equal(1, afterB.Active);

        // B's place is free: with one queue place, C waits (its stream starts at once) instead of getting 429.
        using var waiterCancel = new CancellationTokenSource();
        var waiter = await gateway.Http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(new { model = Model, messages = new[] { new { role = "user", content = "Hello" } }, max_tokens = 20, temperature = 0, stream = true }) },
            HttpCompletionOption.ResponseHeadersRead,
            waiterCancel.Token);
        Assert.Equal(HttpStatusCode.OK, waiter.StatusCode);
        var waiterId = waiter.Headers.GetValues("x-request-id").Single();
        await WaitEngineAsync(gateway, Model, l => l.Queued == 1, TimeSpan.FromSeconds(10), "C queued");
        await waiterCancel.CancelAsync();
        waiter.Dispose();
        var (_, cLeft) = await WaitEngineAsync(gateway, Model, l => l.Queued == 0, TimeSpan.FromSeconds(10), "C out of the queue");

        // A ends. Neither B nor C was ever prefilled, let alone decoded.
        var promptBeforeEnd = (await EngineAsync(gateway, Model)).PromptTokens;
        var holderId = holder.Headers.GetValues("x-request-id").Single();
        await holderCancel.CancelAsync();
        holder.Dispose();
        await fixture.IdleAsync();
        await Task.Delay(300);
        var after = await EngineAsync(gateway, Model);
        Assert.Equal(promptBeforeEnd, after.PromptTokens);
        Assert.Equal(0, after.KvCells);
        output.WriteLine($"queued request left the queue {bLeft.TotalMilliseconds:F0} ms (non-streamed) and {cLeft.TotalMilliseconds:F0} ms (streamed) after its client left (status polling included)");
        Assert.True(bLeft < TimeSpan.FromSeconds(1) && cLeft < TimeSpan.FromSeconds(1), $"left the queue after {bLeft.TotalMilliseconds:F0} / {cLeft.TotalMilliseconds:F0} ms");

        var rows = await LedgerAsync(gateway.DataDir);
        Assert.Equal(("client_closed", 499), (rows[waiterId].ErrorCode, rows[waiterId].Status));
        Assert.Equal(("client_closed", 499), (rows[holderId].ErrorCode, rows[holderId].Status));
        var unstreamed = rows.Where(r => !ledgerBefore.Contains(r.Key) && !r.Value.Stream).Select(r => r.Value).ToArray();
        var b = Assert.Single(unstreamed);
        Assert.Equal(("client_closed", 499, 0), (b.ErrorCode, b.Status, b.CompletionTokens));
    }

    [Fact]
    public async Task F16_ClientLeavesDuringPrefill_PrefillStopsAndNoTokenIsDecoded()
    {
        var gateway = fixture.Gateway;
        var before = await fixture.IdleAsync();
        var ledgerBefore = (await LedgerAsync(gateway.DataDir)).Keys.ToHashSet();

        // About 1,200 prompt tokens in chunks of 8: some 150 decode steps of prefill before the first token. A text
        // completion sends nothing before its first token, so the client is still waiting for the headers.
        var prompt = string.Concat(Enumerable.Repeat("The little fox ran to the river and saw a big fish. ", 60));
        using var cancel = new CancellationTokenSource();
        var sending = gateway.Http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Json(OneSlotGateway.LongStream(prompt, maxTokens: 50)) }, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        var (prefilling, _) = await WaitEngineAsync(gateway, Model, l => l.Active == 1 && l.PromptTokens > before.PromptTokens, TimeSpan.FromSeconds(30), "prefill started");
        Assert.True(prefilling.Generated == before.Generated, "the prefill finished before the test could disconnect; the prompt is too short for this machine");

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
        var (_, freedAfter) = await WaitEngineAsync(gateway, Model, l => l.Active == 0, TimeSpan.FromSeconds(10), "slot freed");
        await Task.Delay(300);
        var after = await EngineAsync(gateway, Model);

        // Not one token was sampled: the prefill never completed, so nothing was ever decoded for this client.
        Assert.Equal(before.Generated, after.Generated);
        Assert.Equal(0, after.KvCells);
        var prefilled = after.PromptTokens - before.PromptTokens;
        output.WriteLine($"prefill stopped after {prefilled} prompt tokens; slot free {freedAfter.TotalMilliseconds:F0} ms after the disconnect (status polling included)");
        Assert.True(prefilled < 1000, $"{prefilled} prompt tokens were prefilled after the client left");
        Assert.True(freedAfter < TimeSpan.FromSeconds(1), $"slot freed {freedAfter.TotalMilliseconds:F0} ms after the disconnect");

        var deadline = Deadline.In(TimeSpan.FromSeconds(5));
        LedgerRow[] added;
        while ((added = [.. (await LedgerAsync(gateway.DataDir)).Where(r => !ledgerBefore.Contains(r.Key)).Select(r => r.Value)]).Length == 0 && !deadline.Passed)
        {
            await Task.Delay(50);
        }

        var row = Assert.Single(added);
        Assert.Equal(("client_closed", 499, 0), (row.ErrorCode, row.Status, row.CompletionTokens));
    }
}
