using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;
using static Enclave.Tests.Hostile.Faults.FaultProbe;

namespace Enclave.Tests.Hostile.Faults;

/// <summary>
/// RELIABILITY F17: a client that reads its stream at 10 B/s. The gateway holds a bounded amount for it (Kestrel's
/// response buffer plus a fixed socket send buffer, not the 4 MiB the kernel would grow), the minimum response data
/// rate aborts the connection once a write has waited past its grace, and the generation is cancelled: the slot is
/// freed and the ledger records <c>client_closed</c> with the tokens relayed.
/// </summary>
[Collection(OneSlotGatewayGroup.Name)]
public sealed class SlowReaderTests(OneSlotGateway fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task F17_ClientReadsTenBytesPerSecond_ConnectionAbortedAndGenerationCancelled()
    {
        var gateway = fixture.Gateway;
        var before = await fixture.IdleAsync();

        // A small receive window, as a slow client over a thin link has; the server's side is the gateway's own.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(IPAddress.Loopback, gateway.BaseUrl.Port);
        var body = JsonSerializer.Serialize(OneSlotGateway.LongStream());
        await socket.SendAsync(Encoding.ASCII.GetBytes(
            $"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}"));

        // The headers and the first 20 events at full speed: the stream is live, and the size of an event is known.
        var head = new MemoryStream();
        var chunk = new byte[4096];
        string text;
        do
        {
            var n = await socket.ReceiveAsync(chunk);
            Assert.True(n > 0, "connection closed before the stream started");
            head.Write(chunk, 0, n);
            text = Encoding.UTF8.GetString(head.ToArray());
        }
        while (!text.Contains("\r\n\r\n", StringComparison.Ordinal) || Count(text[text.IndexOf("\r\n\r\n", StringComparison.Ordinal)..], "data: ") < 20);

        Assert.StartsWith("HTTP/1.1 200", text);
        var id = text.Split("\r\n").Single(l => l.StartsWith("x-request-id:", StringComparison.OrdinalIgnoreCase))["x-request-id:".Length..].Trim();
        var streamed = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        var eventsRead = Count(streamed, "data: ");
        var eventBytes = (double)Encoding.UTF8.GetByteCount(streamed) / eventsRead;

        // Then 10 bytes a second, watching the engine, until the slot is freed.
        var slow = Stopwatch.StartNew();
        var tiny = new byte[10];
        var slowBytes = 0;
        EngineLoad load;
        while (true)
        {
            slowBytes += await socket.ReceiveAsync(tiny);
            load = await EngineAsync(gateway, OneSlotGateway.Model);
            if (load.Active == 0)
            {
                break;
            }

            Assert.True(slow.Elapsed < TimeSpan.FromSeconds(90), $"the slot was still busy after {slow.Elapsed} of reading at 10 B/s; engine {load}");
            await Task.Delay(1000);
        }

        var freedAfter = slow.Elapsed;
        eventsRead += (int)(slowBytes / eventBytes);

        // The gateway closed the connection: the rest drains at full speed and ends (EOF or reset), without [DONE].
        var rest = new MemoryStream();
        using (var drainTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            try
            {
                while (await socket.ReceiveAsync(chunk, drainTimeout.Token) is var n && n > 0)
                {
                    rest.Write(chunk, 0, n);
                }
            }
            catch (SocketException)
            {
                // Reset by the gateway's abort.
            }
            catch (OperationCanceledException)
            {
                Assert.Fail("the gateway did not close the slow client's connection");
            }
        }
        Assert.DoesNotContain("[DONE]", Encoding.UTF8.GetString(rest.ToArray()), StringComparison.Ordinal);

        var row = await LedgerRowAsync(gateway.DataDir, id, TimeSpan.FromSeconds(5));
        Assert.Equal(("client_closed", 499), (row.ErrorCode, row.Status));
        Assert.True(row.CompletionTokens < 1900, "the generation ran to max_tokens instead of being cancelled");
        Assert.Contains(gateway.Output.Split('\n'), l => l.Contains(id, StringComparison.Ordinal) && l.Contains("did not accept", StringComparison.Ordinal));

        // What the gateway held for this client when it gave up: events it had relayed that the client had not read.
        var heldBytes = (row.CompletionTokens - eventsRead) * eventBytes;
        output.WriteLine($"slot freed {freedAfter.TotalSeconds:F1} s after the client slowed to 10 B/s; gateway relayed {row.CompletionTokens} events of ~{eventBytes:F0} B, "
            + $"the client had read {eventsRead}: ~{heldBytes / 1024:F0} KiB held in the gateway's buffers and socket; the worker generated {load.Generated - before.Generated} tokens");
        Assert.True(heldBytes <= 1 << 20, $"the gateway held ~{heldBytes / 1024:F0} KiB for one slow stream");
    }

    private static int Count(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
