using System.Diagnostics;
using System.Globalization;
using Enclave.Ledger;
using Enclave.Storage;
using Microsoft.Data.Sqlite;

namespace Enclave.Bench;

/// <summary>
/// <c>enclave-bench ledger [--records N] [--writers W]</c>: usage-ledger group commit (<see cref="LedgerWriter"/>)
/// against one transaction per record, same writers, same durability (WAL, synchronous=FULL), in a temp data
/// directory that is deleted afterwards.
/// </summary>
internal static class LedgerBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var records = Arg(args, "--records", 20_000);
        var writers = Arg(args, "--writers", 64);
        if (records < 1 || writers < 1)
        {
            await Console.Error.WriteLineAsync("enclave-bench ledger: --records and --writers must be positive integers.");
            return 2;
        }

        var root = Path.Combine(Path.GetTempPath(), "enclave-ledger-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            var group = await MeasureAsync(new EnclaveDatabase(Path.Combine(root, "group")), records, writers, GroupCommitAsync);
            var naive = await MeasureAsync(new EnclaveDatabase(Path.Combine(root, "naive")), records, writers, NaiveAsync);
            Console.WriteLine($"usage ledger: {records:N0} records, {writers} concurrent writers, WAL + synchronous=FULL");
            Print("group commit", group);
            Print("txn per record", naive);
            Console.WriteLine($"group commit / txn per record throughput: {group.PerSecond / naive.PerSecond:F1}x");
            return 0;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<Result> MeasureAsync(EnclaveDatabase db, int records, int writers, Func<EnclaveDatabase, int, int, long[], Task<string>> run)
    {
        await db.MigrateAsync(LedgerSchema.Migrations, CancellationToken.None);
        var latencies = new long[records];
        var clock = Stopwatch.StartNew();
        var extra = await run(db, records, writers, latencies);
        var seconds = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        double Ms(double q) => latencies[Math.Min(records - 1, (int)Math.Ceiling(q * records) - 1)] * 1000.0 / Stopwatch.Frequency;
        return new Result(records / seconds, Ms(0.50), Ms(0.99), seconds, extra);
    }

    private static async Task<string> GroupCommitAsync(EnclaveDatabase db, int records, int writers, long[] latencies)
    {
        await using var ledger = new LedgerWriter(db);
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < records)
            {
                var start = Stopwatch.GetTimestamp();
                await ledger.WriteAsync(Record(i), CancellationToken.None);
                latencies[i] = Stopwatch.GetTimestamp() - start;
            }
        })));
        return $"{ledger.TransactionsCommitted:N0} transactions, {(double)ledger.RecordsWritten / ledger.TransactionsCommitted:F1} records each";
    }

    private static async Task<string> NaiveAsync(EnclaveDatabase db, int records, int writers, long[] latencies)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            // Each writer keeps its connection and prepared INSERT; only the transaction-per-record differs.
            await using var connection = await db.OpenAsync(CancellationToken.None);
            await using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO usage_ledger (request_id, at, key_id, model, backend, route, stream, prompt_tokens, completion_tokens, ttft_ms, latency_ms, status, guardrail_triggers) VALUES ($id, $at, 'k', 'chat', 'local', '/v1/chat/completions', 1, 10, 20, 5.0, 50.0, 200, '')";
            var id = insert.Parameters.Add(new SqliteParameter("$id", null));
            var at = insert.Parameters.Add(new SqliteParameter("$at", null));
            int i;
            while ((i = Interlocked.Increment(ref next)) < records)
            {
                var start = Stopwatch.GetTimestamp();
                var r = Record(i);
                id.Value = r.RequestId;
                at.Value = LedgerSchema.FormatTime(r.Time);
                await insert.ExecuteNonQueryAsync();
                latencies[i] = Stopwatch.GetTimestamp() - start;
            }
        })));
        return $"{records:N0} transactions";
    }

    private static UsageRecord Record(int i) => new()
    {
        RequestId = "bench-" + i.ToString(CultureInfo.InvariantCulture),
        Time = DateTimeOffset.UnixEpoch.AddSeconds(i),
        KeyId = "k",
        Model = "chat",
        Route = "/v1/chat/completions",
        Stream = true,
        PromptTokens = 10,
        CompletionTokens = 20,
        TimeToFirstTokenMs = 5,
        LatencyMs = 50,
        Status = 200,
    };

    private static void Print(string name, Result r) => Console.WriteLine(
        $"{name,-15} {r.PerSecond,10:N0} records/s   WriteAsync p50 {r.P50Ms,8:F2} ms  p99 {r.P99Ms,8:F2} ms   ({r.Seconds:F2} s; {r.Extra})");

    private static int Arg(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : at >= 0 ? -1 : fallback;
    }

    private sealed record Result(double PerSecond, double P50Ms, double P99Ms, double Seconds, string Extra);
}
