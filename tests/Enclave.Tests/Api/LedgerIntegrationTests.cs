using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Enclave.Storage;
using Enclave.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Enclave.Tests.Api;

/// <summary>The usage ledger behind the real gateway: one durable record per request, even across kill -9.</summary>
public sealed class LedgerIntegrationTests
{
    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static async Task<Dictionary<string, (string Model, int Status, int Prompt, int Completion, string? Error, bool Stream)>> ReadLedgerAsync(string dataDir)
    {
        var rows = new Dictionary<string, (string, int, int, int, string?, bool)>();
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "enclave.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT request_id, model, status, prompt_tokens, completion_tokens, error_code, stream FROM usage_ledger";
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows[reader.GetString(0)] = (reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetInt64(6) != 0);
        }

        return rows;
    }

    [Fact]
    public async Task MixedTraffic_EveryRequestHasARecordThatAgreesWithTheResponse()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "enclave-ledger-" + Guid.NewGuid().ToString("N"));
        var seen = new Dictionary<string, (int Status, int Prompt, int Completion)>();
        await using (var gateway = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories)], dataDir: dataDir))
        {
            using (var plain = await gateway.Http.PostAsync("/v1/completions", Json(new { model = "stories", prompt = "Once upon a time", max_tokens = 7 })))
            {
                var usage = JsonDocument.Parse(await plain.Content.ReadAsStringAsync()).RootElement.GetProperty("usage");
                seen[plain.Headers.GetValues("x-request-id").Single()] = (200, usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32());
            }

            using (var streamed = await gateway.Http.PostAsync("/v1/completions", Json(new { model = "stories", prompt = "The dog", max_tokens = 5, stream = true })))
            {
                var events = await Sse.ReadEventsAsync(streamed);
                Assert.Equal("[DONE]", events[^1]);
                seen[streamed.Headers.GetValues("x-request-id").Single()] = (200, 3, 5);
            }

            using (var missing = await gateway.Http.PostAsync("/v1/completions", Json(new { model = "nope", prompt = "x" })))
            {
                seen[missing.Headers.GetValues("x-request-id").Single()] = (404, 0, 0);
            }

            using (var bad = await gateway.Http.PostAsync("/v1/completions", Json(new { model = "stories", prompt = "x", max_tokens = 0 })))
            {
                seen[bad.Headers.GetValues("x-request-id").Single()] = (400, 0, 0);
            }
        }

        var ledger = await ReadLedgerAsync(dataDir);
        foreach (var (id, expected) in seen)
        {
            Assert.True(ledger.TryGetValue(id, out var row), $"no ledger record for {id}");
            Assert.Equal(expected.Status, row.Status);
            Assert.Equal(expected.Completion, row.Completion);
            if (expected.Status == 200)
            {
                Assert.True(row.Prompt > 0);
                Assert.Null(row.Error);
            }
            else
            {
                Assert.NotNull(row.Error);
            }
        }

        Assert.Equal("model_not_found", ledger.Values.Single(r => r.Status == 404).Error);
        Directory.Delete(dataDir, recursive: true);
    }

    [Fact]
    public async Task KillMinus9UnderLoad_EveryCompletedResponseHasItsRecord()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "enclave-kill9-" + Guid.NewGuid().ToString("N"));
        var completed = new ConcurrentBag<string>();
        await using (var gateway = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories, new Dictionary<string, string> { ["Slots"] = "4" })], dataDir: dataDir))
        {
            using var stop = new CancellationTokenSource();
            var clients = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            {
                for (var n = 0; !stop.IsCancellationRequested && n < 1000; n++)
                {
                    try
                    {
                        var streamed = (n + i) % 2 == 0;
                        using var response = await gateway.Http.PostAsync("/v1/completions", Json(new { model = "stories", prompt = "Once upon a time", max_tokens = 16, stream = streamed }));
                        var id = response.Headers.GetValues("x-request-id").Single();
                        if (streamed)
                        {
                            var events = await Sse.ReadEventsAsync(response);
                            if (events.Count > 0 && events[^1] == "[DONE]")
                            {
                                completed.Add(id);
                            }
                        }
                        else if (response.StatusCode == HttpStatusCode.OK && JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.TryGetProperty("usage", out _))
                        {
                            completed.Add(id);
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or IOException or JsonException or TaskCanceledException or Xunit.Sdk.XunitException)
                    {
                        // Responses cut by the kill are not complete; they need no record.
                    }
                }
            })).ToArray();

            await Task.Delay(TimeSpan.FromSeconds(3));
            Process.GetProcessById(gateway.ProcessId).Kill(); // SIGKILL, the gateway only
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            await stop.CancelAsync();
            await Task.WhenAll(clients);
        }

        Assert.True(completed.Count > 20, $"only {completed.Count} requests completed before the kill");
        var database = new EnclaveDatabase(dataDir);
        Assert.Equal("ok", await database.IntegrityCheckAsync(CancellationToken.None));
        var ledger = await ReadLedgerAsync(dataDir);
        Assert.All(completed, id => Assert.True(ledger.ContainsKey(id), $"completed request {id} has no ledger record"));

        // The gateway starts again on the same database.
        await using (var again = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories)], dataDir: dataDir))
        {
            using var response = await again.Http.PostAsync("/v1/completions", Json(new { model = "stories", prompt = "Hi", max_tokens = 2 }));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Directory.Delete(dataDir, recursive: true);
    }
}
