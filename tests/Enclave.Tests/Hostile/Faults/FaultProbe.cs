using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Enclave.Tests.Hostile.Faults;

/// <summary>What the fault tests observe of a gateway: its workers' engine status, its usage ledger, and signals.</summary>
internal static class FaultProbe
{
    public static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>The engine status of <paramref name="model"/>'s worker (slots, activeSequences, queuedRequests, counters).</summary>
    public static async Task<EngineLoad> EngineAsync(GatewayProcess gateway, string model)
    {
        using var doc = JsonDocument.Parse(await gateway.Http.GetStringAsync("/admin/workers"));
        var worker = doc.RootElement.GetProperty("workers").EnumerateArray().Single(w => w.GetProperty("name").GetString() == model);
        var engine = worker.GetProperty("engine");
        Assert.True(engine.ValueKind == JsonValueKind.Object, $"worker {model} has no engine status: {worker}");
        return new EngineLoad(
            engine.GetProperty("activeSequences").GetInt32(),
            engine.GetProperty("queuedRequests").GetInt32(),
            engine.GetProperty("kvCellsUsed").GetInt64(),
            engine.GetProperty("promptTokensProcessed").GetInt64(),
            engine.GetProperty("tokensGenerated").GetInt64(),
            worker.GetProperty("pid").GetInt32());
    }

    /// <summary>Polls the engine until <paramref name="condition"/> holds; returns it and the time waited, or fails.</summary>
    public static async Task<(EngineLoad Load, TimeSpan Waited)> WaitEngineAsync(GatewayProcess gateway, string model, Func<EngineLoad, bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        var deadline = Deadline.In(timeout);
        var load = await EngineAsync(gateway, model);
        while (!condition(load))
        {
            Assert.False(deadline.Passed, $"{what}: not reached within {timeout}; engine {load}");
            await Task.Delay(10);
            load = await EngineAsync(gateway, model);
        }

        return (load, clock.Elapsed);
    }

    /// <summary>Every usage record, by request id (read-only; works while the gateway runs, WAL readers do not block it).</summary>
    public static async Task<Dictionary<string, LedgerRow>> LedgerAsync(string dataDir)
    {
        var rows = new Dictionary<string, LedgerRow>(StringComparer.Ordinal);
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "enclave.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT request_id, status, error_code, prompt_tokens, completion_tokens, stream FROM usage_ledger";
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows[reader.GetString(0)] = new LedgerRow(reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4), reader.GetInt64(5) != 0);
        }

        return rows;
    }

    /// <summary>Polls the ledger until it holds a record for <paramref name="requestId"/>.</summary>
    public static async Task<LedgerRow> LedgerRowAsync(string dataDir, string requestId, TimeSpan timeout)
    {
        var deadline = Deadline.In(timeout);
        while (true)
        {
            if ((await LedgerAsync(dataDir)).TryGetValue(requestId, out var row))
            {
                return row;
            }

            Assert.False(deadline.Passed, $"no usage record for {requestId} within {timeout}");
            await Task.Delay(50);
        }
    }

    /// <summary>kill -TERM, as an orchestrator stopping the gateway sends.</summary>
    public static async Task SigTermAsync(int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>True while <paramref name="pid"/> runs (a zombie, dead but not yet reaped, counts as stopped).</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return false;
        }
    }
}

public sealed record EngineLoad(int Active, int Queued, long KvCells, long PromptTokens, long Generated, int WorkerPid);

public sealed record LedgerRow(int Status, string? ErrorCode, int PromptTokens, int CompletionTokens, bool Stream);
