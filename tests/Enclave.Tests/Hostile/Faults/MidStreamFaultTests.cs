using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Xunit.Abstractions;
using static Enclave.Tests.Hostile.Faults.FaultProbe;

namespace Enclave.Tests.Hostile.Faults;

/// <summary>
/// The numbers of RELIABILITY F14 and F15 that the older tests do not pin: a worker killed mid-stream gives its
/// client the error event within 2 s, and a client that leaves mid-stream is recorded as <c>client_closed</c> with the
/// tokens it was sent (not zero).
/// </summary>
[Collection(OneSlotGatewayGroup.Name)]
public sealed class MidStreamFaultTests(OneSlotGateway fixture, ITestOutputHelper output)
{
    private const string Model = OneSlotGateway.Model;

    [Fact]
    public async Task F14_WorkerKilledMidStream_ErrorEventWithinTwoSeconds_WorkerBackIdle()
    {
        var gateway = fixture.Gateway;
        var before = await fixture.IdleAsync();
        using var response = await gateway.Http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Json(OneSlotGateway.LongStream()) }, HttpCompletionOption.ResponseHeadersRead);
        var id = response.Headers.GetValues("x-request-id").Single();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var data = new List<string>();
        while (data.Count < 5 && await reader.ReadLineAsync() is { } first)
        {
            if (first.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Add(first[6..]);
            }
        }

        var killed = Stopwatch.StartNew();
        Process.GetProcessById(before.WorkerPid).Kill(); // SIGKILL, the worker only
        var errorAt = TimeSpan.Zero;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Add(line[6..]);
                errorAt = killed.Elapsed;
            }
        }

        var error = JsonDocument.Parse(data[^1]).RootElement.GetProperty("error");
        Assert.Equal("worker_crashed", error.GetProperty("code").GetString());
        Assert.DoesNotContain("[DONE]", data);
        output.WriteLine($"error event {errorAt.TotalMilliseconds:F0} ms after kill -9 of the worker");
        Assert.True(errorAt <= TimeSpan.FromSeconds(2), $"error event {errorAt.TotalMilliseconds:F0} ms after the kill");

        await gateway.WaitReadyAsync(TimeSpan.FromSeconds(60));
        var after = await fixture.IdleAsync();
        Assert.NotEqual(before.WorkerPid, after.WorkerPid);
        Assert.Equal(0, after.KvCells);
        var row = await LedgerRowAsync(gateway.DataDir, id, TimeSpan.FromSeconds(5));
        Assert.Equal((200, "worker_crashed"), (row.Status, row.ErrorCode));
    }

    [Fact]
    public async Task F15_ClientLeavesMidStream_LedgerHasTheTokensRelayed()
    {
        var gateway = fixture.Gateway;
        await fixture.IdleAsync();
        using var cancel = new CancellationTokenSource();
        var response = await gateway.Http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Json(OneSlotGateway.LongStream()) }, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        var id = response.Headers.GetValues("x-request-id").Single();
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        var received = 0;
        while (received < 30 && await reader.ReadLineAsync(cancel.Token) is { } line)
        {
            if (line.StartsWith("data: {", StringComparison.Ordinal))
            {
                Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(line[6..]).RootElement.GetProperty("choices").ValueKind);
                received++;
            }
        }

        await cancel.CancelAsync();
        response.Dispose();
        var (_, freed) = await WaitEngineAsync(gateway, Model, l => l.Active == 0, TimeSpan.FromSeconds(10), "slot freed");
        var row = await LedgerRowAsync(gateway.DataDir, id, TimeSpan.FromSeconds(5));
        output.WriteLine($"slot free {freed.TotalMilliseconds:F0} ms after the disconnect; ledger {row}; client read {received} events");
        Assert.Equal(("client_closed", 499), (row.ErrorCode, row.Status));
        Assert.True(row.CompletionTokens >= received, $"ledger has {row.CompletionTokens} completion tokens, the client read {received}");
    }
}
