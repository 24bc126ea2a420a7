using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Backends.Fleet;

/// <summary>
/// Two real Enclave processes: gateway A serves model <c>chat</c> itself and through gateway B (an <c>enclave</c>
/// backend), and model <c>far</c> only through B. B is killed under load and restarted: no client hangs, a
/// stream started on B ends with an error event, new requests fail over to A's own worker, and traffic returns
/// to B within 30 s of its restart.
/// </summary>
public sealed class TwoInstanceTests
{
    private sealed record Outcome(string Backend, bool Completed, bool ErrorEvent, int Status, TimeSpan Duration, long StartedAt);

    [Fact]
    public async Task SecondInstanceStopsAndReturns_NoHangs_StreamsEndWithErrors_NewRequestsFailOver_TrafficReturns()
    {
        var model = await TestModels.SyntheticChatAsync();
        var portB = GatewayProcess.FreeTcpPort();
        var urlB = $"http://127.0.0.1:{portB}";
        var dataB = Path.Combine(Path.GetTempPath(), "enclave-fleet-b-" + Guid.NewGuid().ToString("N"));
        var b = await GatewayProcess.StartAsync([new ModelSpec("chat", model), new ModelSpec("far", model)], urls: urlB, dataDir: dataB);
        var environment = new Dictionary<string, string>
        {
            ["ENCLAVE__Backends__b__Kind"] = "Enclave",
            ["ENCLAVE__Backends__b__BaseUrl"] = urlB,
            ["ENCLAVE__Backends__b__Timeouts__ConnectMs"] = "1000",
            ["ENCLAVE__Backends__b__Timeouts__FirstTokenMs"] = "5000",
            ["ENCLAVE__Backends__b__Timeouts__IdleMs"] = "3000",
            ["ENCLAVE__Resilience__HealthCheckIntervalMs"] = "500",
            ["ENCLAVE__Resilience__BreakerOpenMs"] = "2000",
        };
        await using var a = await GatewayProcess.StartAsync([new ModelSpec("chat", model)], environment);
        try
        {
            // Both serve chat: A balances between its worker and B.
            using var models = JsonDocument.Parse(await a.Http.GetStringAsync("/v1/models"));
            var ids = models.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToArray();
            Assert.Contains("chat", ids);
            Assert.Contains("far", ids);

            var clock = Stopwatch.StartNew();
            var outcomes = new ConcurrentBag<Outcome>();
            using var stop = new CancellationTokenSource();
            var loops = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    outcomes.Add(await StreamAsync(a, "chat", 40, clock, null));
                }
            })).ToArray();

            // Wait until both backends have answered, then start a long stream that only B can serve.
            var deadline = Deadline.In(TimeSpan.FromSeconds(60));
            while (!deadline.Passed && !(outcomes.Any(o => o.Backend == "b" && o.Completed) && outcomes.Any(o => o.Backend == "local" && o.Completed)))
            {
                await Task.Delay(100);
            }

            Assert.True(outcomes.Any(o => o.Backend == "b" && o.Completed), "B never served chat: " + Describe(outcomes));
            Assert.True(outcomes.Any(o => o.Backend == "local" && o.Completed), "A's worker never served chat: " + Describe(outcomes));
            var firstEvents = new TaskCompletionSource();
            var far = Task.Run(() => StreamAsync(a, "far", 400, clock, firstEvents));
            await firstEvents.Task.WaitAsync(TimeSpan.FromSeconds(30));

            var killedAt = clock.ElapsedTicks;
            b.Kill();
            var farOutcome = await far.WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Equal("b", farOutcome.Backend);
            Assert.False(farOutcome.Completed, "a stream cut by B's death must not finish cleanly");
            Assert.True(farOutcome.ErrorEvent, "the started stream ends with an error event");

            // New chat requests fail over to A's own worker while B is down.
            var afterKillFrom = killedAt + Stopwatch.Frequency;
            deadline = Deadline.In(TimeSpan.FromSeconds(30));
            while (!deadline.Passed && outcomes.Count(o => o.StartedAt > afterKillFrom) < 4)
            {
                await Task.Delay(100);
            }

            var afterKill = outcomes.Where(o => o.StartedAt > afterKillFrom).ToArray();
            Assert.True(afterKill.Length >= 4, "too few requests after B died: " + Describe(outcomes));
            Assert.All(afterKill, o => Assert.True(o.Completed && o.Backend == "local", $"after B died: {o}"));

            // B comes back on the same address; traffic returns within 30 s.
            await using var b2 = await GatewayProcess.StartAsync([new ModelSpec("chat", model), new ModelSpec("far", model)], urls: urlB, dataDir: dataB);
            var restarted = clock.Elapsed;
            deadline = Deadline.In(TimeSpan.FromSeconds(30));
            while (!deadline.Passed && !outcomes.Any(o => o.Backend == "b" && o.Completed && o.StartedAt > (long)(restarted.TotalSeconds * Stopwatch.Frequency)))
            {
                await Task.Delay(100);
            }

            var returned = outcomes.Where(o => o.Backend == "b" && o.Completed && o.StartedAt > (long)(restarted.TotalSeconds * Stopwatch.Frequency)).ToArray();
            Assert.True(returned.Length > 0, "traffic did not return to B within 30 s of its restart: " + Describe(outcomes));
            await stop.CancelAsync();
            await Task.WhenAll(loops);

            // Nobody hung, and every response either finished cleanly or said it failed.
            Assert.All(outcomes, o => Assert.True(o.Duration < TimeSpan.FromSeconds(15), $"a request took {o.Duration}: {o}"));
            Assert.All(outcomes, o => Assert.True(o.Completed || o.ErrorEvent || o.Status >= 400, $"truncated without an error: {o}"));
            Assert.True(killedAt > 0);
        }
        finally
        {
            await b.DisposeAsync();
        }
    }

    private static async Task<Outcome> StreamAsync(GatewayProcess gateway, string model, int maxTokens, Stopwatch clock, TaskCompletionSource? started)
    {
        var at = clock.ElapsedTicks;
        var body = JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content = "Tell me a story." } }, max_tokens = maxTokens, stream = true });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        try
        {
            using var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var backend = response.Headers.TryGetValues("x-enclave-backend", out var v) ? v.Single() : "?";
            if (!response.IsSuccessStatusCode)
            {
                await response.Content.ReadAsStringAsync();
                return new Outcome(backend, false, false, (int)response.StatusCode, Since(clock, at), at);
            }

            await using var stream = await response.Content.ReadAsStreamAsync();
            using var reader = new StreamReader(stream);
            var done = false;
            var error = false;
            var events = 0;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    continue;
                }

                if (++events == 3)
                {
                    started?.TrySetResult();
                }

                done |= line == "data: [DONE]";
                error |= line.StartsWith("data: {\"error\"", StringComparison.Ordinal);
            }

            return new Outcome(backend, done && !error, error, 200, Since(clock, at), at);
        }
        catch (HttpRequestException)
        {
            return new Outcome("?", false, false, 0, Since(clock, at), at);
        }
    }

    private static TimeSpan Since(Stopwatch clock, long at) => TimeSpan.FromSeconds((clock.ElapsedTicks - at) / (double)Stopwatch.Frequency);

    private static string Describe(IEnumerable<Outcome> outcomes) =>
        string.Join(", ", outcomes.GroupBy(o => (o.Backend, o.Completed, o.ErrorEvent, o.Status)).Select(g => $"{g.Key}×{g.Count()}"));
}
