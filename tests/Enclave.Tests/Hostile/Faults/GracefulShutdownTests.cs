using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Enclave.Tests.Backends.Remote;
using Enclave.Tests.Infrastructure;
using Xunit.Abstractions;
using static Enclave.Tests.Hostile.Faults.FaultProbe;

namespace Enclave.Tests.Hostile.Faults;

/// <summary>
/// RELIABILITY F20 / G10: SIGTERM with 50 live streams (10 from a local model, 40 relayed from a remote upstream)
/// and a whole answer waiting in the local model's queue. New requests get 503 <c>server_shutting_down</c> with
/// Retry-After at once and <c>/readyz</c> turns 503; running streams keep flowing for
/// <c>Server:ShutdownTimeoutSeconds</c>; one that finishes in that time ends with <c>[DONE]</c>, the rest end with a
/// final <c>server_shutting_down</c> error event at the deadline and the whole answer becomes a 503. Once the process
/// is gone every request has its usage record, the worker is stopped, and the exit code is 0.
/// </summary>
public sealed class GracefulShutdownTests(ITestOutputHelper output)
{
    private const int ShutdownSeconds = 5;
    private const string Slow = "slow-ttft-0-itl-50";

    [Fact]
    public async Task F20_SigTermWithFiftyLiveStreams_RefusesNewDrainsCutsAtDeadlineFlushesLedgerExitsZero()
    {
        await using var wall = await FaultUpstream.StartAsync("wall", Slow, "ok");
        var synth = await TestModels.SyntheticChatAsync();
        var setup = new RemoteSetup()
            .Backend("wall", wall, Slow, "ok")
            .Timeouts("wall", totalMs: 120_000)
            .Set("Server:ShutdownTimeoutSeconds", ShutdownSeconds);
        await using var gateway = await setup.StartAsync([Slow, "ok", "synth"], [new ModelSpec("synth", synth, new Dictionary<string, string> { ["Slots"] = "10", ["ContextSize"] = "1024" })]);
        await gateway.WaitReadyAsync(TimeSpan.FromSeconds(60));
        var workerPid = (await EngineAsync(gateway, "synth")).WorkerPid;

        // 49 long streams, live before the signal: 10 local (greedy, 900 tokens), 39 remote (1000 tokens, 50 ms apart).
        var local = Enumerable.Range(0, 10).Select(i => WatchedStream.Start(gateway.Http, Chat("synth", 900, $"Story number {i}"))).ToArray();
        var remote = Enumerable.Range(0, 39).Select(_ => WatchedStream.Start(gateway.Http, Chat(Slow, 1000, "Tell me a story"))).ToArray();
        var cut = local.Concat(remote).ToArray();
        await WaitAsync(() => cut.All(s => s.DataEvents >= 2), TimeSpan.FromSeconds(60), () => $"not all 49 streams live: {string.Join(",", cut.Select(s => s.DataEvents))}");

        // And one whole (not streamed) answer, waiting in the local model's queue behind the ten streams.
        var whole = gateway.Http.PostAsync("/v1/chat/completions", Json(new { model = "synth", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 900, temperature = 0 }));
        await WaitEngineAsync(gateway, "synth", l => l.Queued == 1, TimeSpan.FromSeconds(30), "the whole answer queued");

        // The 50th needs about 1 s more when the signal comes: it must finish during the drain.
        var finisher = WatchedStream.Start(gateway.Http, Chat(Slow, 40, "Tell me a short story"));
        await WaitAsync(() => finisher.DataEvents >= 21, TimeSpan.FromSeconds(30), () => $"finisher at {finisher.DataEvents} events");

        var signalled = Stopwatch.GetTimestamp();
        await SigTermAsync(gateway.ProcessId);
        var sent = Stopwatch.GetTimestamp(); // after kill(1) has run: its start-up is not the gateway's time

        // New requests are refused (not queued, not dropped) as soon as the signal is handled.
        var refused = await FirstRefusalAsync(gateway.Http, sent);
        using (var ready = await gateway.Http.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal("shutting_down", JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        }

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(ShutdownSeconds + 20));
        var exitedAfter = Stopwatch.GetElapsedTime(signalled);
        await Task.WhenAll(cut.Append(finisher).Select(s => s.Completion)).WaitAsync(TimeSpan.FromSeconds(30));
        using var wholeAnswer = await whole.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exitCode == 0, $"exit code {exitCode}\n{gateway.Output}");
        Assert.True(exitedAfter <= TimeSpan.FromSeconds(ShutdownSeconds + 5), $"exited {exitedAfter.TotalSeconds:F1} s after SIGTERM");
        Assert.False(IsRunning(workerPid), $"worker {workerPid} still runs after the gateway exited");

        // The finisher completed during the drain.
        Assert.Null(finisher.Failure);
        Assert.Equal("[DONE]", finisher.LastData);
        var finisherEnd = finisher.EndedAt - signalled;
        Assert.True(finisherEnd > 0 && Seconds(finisherEnd) < ShutdownSeconds, $"finisher ended {Seconds(finisherEnd):F2} s after SIGTERM");

        // The others kept streaming during the drain and were cut at the deadline with the error event, no [DONE].
        foreach (var stream in cut)
        {
            Assert.True(stream.Failure is null, $"{stream.Id}: {stream.Failure}");
            Assert.DoesNotContain("[DONE]", stream.AllData);
            var error = JsonDocument.Parse(stream.LastData).RootElement.GetProperty("error");
            Assert.Equal("server_shutting_down", error.GetProperty("code").GetString());
            var endedAt = Seconds(stream.EndedAt - signalled);
            Assert.True(endedAt >= ShutdownSeconds - 0.5 && endedAt <= ShutdownSeconds + 3, $"{stream.Id} ended {endedAt:F2} s after SIGTERM");
            Assert.True(stream.DataAfter(signalled + (long)(1.5 * Stopwatch.Frequency)) >= 2, $"{stream.Id} stopped streaming during the drain");
        }

        // The whole answer still running at the deadline became a 503 with Retry-After.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, wholeAnswer.StatusCode);
        Assert.Equal("5", wholeAnswer.Headers.GetValues("Retry-After").Single());
        Assert.Equal("server_shutting_down", JsonDocument.Parse(await wholeAnswer.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());

        // Every request has its durable usage record.
        var ledger = await LedgerAsync(gateway.DataDir);
        var wholeRow = ledger[wholeAnswer.Headers.GetValues("x-request-id").Single()];
        Assert.Equal((503, "server_shutting_down"), (wholeRow.Status, wholeRow.ErrorCode));
        var done = ledger[finisher.Id];
        Assert.Equal((200, (string?)null, 40), (done.Status, done.ErrorCode, done.CompletionTokens));
        foreach (var stream in cut)
        {
            Assert.True(ledger.TryGetValue(stream.Id, out var row), $"no usage record for {stream.Id}");
            Assert.Equal((200, "server_shutting_down"), (row.Status, row.ErrorCode));
            Assert.True(row.CompletionTokens >= stream.DataEvents - 2, $"{stream.Id}: ledger {row.CompletionTokens} tokens, client saw {stream.DataEvents} events");
        }

        var cutTimes = cut.Select(s => Seconds(s.EndedAt - signalled)).Order().ToArray();
        output.WriteLine($"first 503 {refused.TotalMilliseconds:F0} ms after SIGTERM; finisher [DONE] at {Seconds(finisherEnd):F2} s; "
            + $"49 streams cut at {cutTimes[0]:F2}–{cutTimes[^1]:F2} s (timeout {ShutdownSeconds} s); exit 0 at {exitedAfter.TotalSeconds:F2} s");
    }

    private static object Chat(string model, int maxTokens, string prompt) =>
        new { model, messages = new[] { new { role = "user", content = prompt } }, max_tokens = maxTokens, temperature = 0, stream = true };

    private static double Seconds(long stopwatchTicks) => (double)stopwatchTicks / Stopwatch.Frequency;

    /// <summary>Sends small requests until one is refused; checks the refusal and returns how long after the signal it came.</summary>
    private static async Task<TimeSpan> FirstRefusalAsync(HttpClient http, long sent)
    {
        var deadline = Deadline.In(TimeSpan.FromSeconds(5));
        while (true)
        {
            using var response = await http.PostAsync("/v1/chat/completions", Json(new { model = "ok", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 2 }));
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                var after = Stopwatch.GetElapsedTime(sent);
                Assert.True(after < TimeSpan.FromSeconds(1), $"new requests were admitted for {after.TotalMilliseconds:F0} ms after SIGTERM");
                Assert.Equal("5", response.Headers.GetValues("Retry-After").Single());
                Assert.True(response.Headers.Contains("x-request-id"));
                var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
                Assert.Equal(("server_error", "server_shutting_down"), (error.GetProperty("type").GetString(), error.GetProperty("code").GetString()));
                return after;
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(deadline.Passed, "no request was refused within 5 s of SIGTERM");
            await Task.Delay(20);
        }
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = Deadline.In(timeout);
        while (!condition())
        {
            Assert.False(deadline.Passed, what());
            await Task.Delay(20);
        }
    }

    /// <summary>One SSE stream read to its end, each <c>data:</c> payload stamped with its arrival time.</summary>
    private sealed class WatchedStream
    {
        private readonly List<(long At, string Data)> _events = [];

        public string Id { get; private set; } = "(no response)";

        public Task Completion { get; private set; } = Task.CompletedTask;

        public long EndedAt { get; private set; }

        public Exception? Failure { get; private set; }

        public int DataEvents
        {
            get
            {
                lock (_events)
                {
                    return _events.Count;
                }
            }
        }

        public string LastData
        {
            get
            {
                lock (_events)
                {
                    return _events.Count == 0 ? "" : _events[^1].Data;
                }
            }
        }

        public IReadOnlyList<string> AllData
        {
            get
            {
                lock (_events)
                {
                    return [.. _events.Select(e => e.Data)];
                }
            }
        }

        public int DataAfter(long timestamp)
        {
            lock (_events)
            {
                return _events.Count(e => e.At > timestamp);
            }
        }

        public static WatchedStream Start(HttpClient http, object body)
        {
            var stream = new WatchedStream();
            stream.Completion = Task.Run(() => stream.ReadAsync(http, body));
            return stream;
        }

        private async Task ReadAsync(HttpClient http, object body)
        {
            try
            {
                using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(body) }, HttpCompletionOption.ResponseHeadersRead);
                Id = response.Headers.GetValues("x-request-id").Single();
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                while (await reader.ReadLineAsync() is { } line)
                {
                    if (line.StartsWith("data: ", StringComparison.Ordinal))
                    {
                        lock (_events)
                        {
                            _events.Add((Stopwatch.GetTimestamp(), line[6..]));
                        }
                    }
                }
            }
#pragma warning disable CA1031 // Whatever ended the stream is asserted on by the test.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Failure = ex;
            }

            EndedAt = Stopwatch.GetTimestamp();
        }
    }
}
