using System.Globalization;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Telemetry;

/// <summary>Queue depth, queue wait, active sequences, KV use, worker up and restarts, read from a live gateway's scrape.</summary>
public sealed class EngineGaugeTests
{
    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    [Fact]
    public async Task UnderLoad_GaugesShowQueueAndSequences_ThenQueueWaitIsRecordedPerRequest()
    {
        var model = new ModelSpec("stories", TestModels.Stories, new Dictionary<string, string> { ["Slots"] = "1" });
        await using var gateway = await GatewayProcess.StartAsync([model], new Dictionary<string, string> { ["ENCLAVE__Telemetry__EngineStatusIntervalMs"] = "100" });
        var requests = Enumerable.Range(0, 8).Select(_ => gateway.Http.PostAsync("/v1/completions", Json(new { model = "stories", prompt = "Once upon a time", max_tokens = 400, temperature = 0 }))).ToArray();

        double queue = 0, active = 0, kv = 0;
        var deadline = Deadline.In(TimeSpan.FromSeconds(20));
        while (!deadline.Passed && (queue < 1 || active < 1 || kv <= 0))
        {
            var scrape = await gateway.Http.GetStringAsync("/metrics");
            queue = Math.Max(queue, Value(scrape, "enclave_queue_depth{") ?? 0);
            active = Math.Max(active, Value(scrape, "enclave_sequences_active{") ?? 0);
            kv = Math.Max(kv, Value(scrape, "enclave_kv_cache_usage{") ?? 0);
            await Task.Delay(50);
        }

        Assert.True(queue >= 1, $"queue depth never rose above {queue}");
        Assert.Equal(1, active);
        Assert.InRange(kv, double.Epsilon, 1);
        foreach (var response in await Task.WhenAll(requests))
        {
            response.Dispose();
        }

        var after = await gateway.Http.GetStringAsync("/metrics");
        Assert.Equal(8, Value(after, "enclave_queue_wait_seconds_count{"));
        Assert.True(Value(after, "enclave_queue_wait_seconds_sum{") > 0, "seven of eight requests waited for the only slot");
        Assert.Equal(1, Value(after, "enclave_sequences_slots{"));
        Assert.Equal(1, Value(after, "enclave_worker_up{"));
        Assert.Equal(0, Value(after, "enclave_worker_restarts_total{"));
    }

    [Fact]
    public async Task KilledWorker_CountsARestart()
    {
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories)]);
        using var workers = JsonDocument.Parse(await gateway.Http.GetStringAsync("/admin/workers"));
        var pid = workers.RootElement.GetProperty("workers")[0].GetProperty("pid").GetInt32();
        System.Diagnostics.Process.GetProcessById(pid).Kill();

        double? restarts = 0;
        var deadline = Deadline.In(TimeSpan.FromSeconds(30));
        while (!deadline.Passed && restarts < 1)
        {
            await Task.Delay(100);
            restarts = Value(await gateway.Http.GetStringAsync("/metrics"), "enclave_worker_restarts_total{");
        }

        Assert.Equal(1, restarts);
        await gateway.WaitReadyAsync(TimeSpan.FromSeconds(30));
        double? up = 0;
        deadline = Deadline.In(TimeSpan.FromSeconds(10));
        while (!deadline.Passed && up != 1)
        {
            await Task.Delay(100);
            up = Value(await gateway.Http.GetStringAsync("/metrics"), "enclave_worker_up{");
        }

        Assert.Equal(1, up);
    }

    private static double? Value(string scrape, string prefix)
    {
        var line = scrape.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal) && l.Contains("gen_ai_request_model=\"stories\"", StringComparison.Ordinal));
        if (line is null)
        {
            return null;
        }

        var parts = line.Split('}')[^1].Trim().Split(' ');
        return double.Parse(parts[0], CultureInfo.InvariantCulture);
    }
}
