using Enclave.Ledger;
using Enclave.Storage;
using Microsoft.Data.Sqlite;

namespace Enclave.Tests.Ledger;

/// <summary>A fresh data directory with a database, deleted (pooled connections cleared) on dispose.</summary>
public sealed class LedgerTestDirectory : IDisposable
{
    public LedgerTestDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "enclave-ledger-" + Guid.NewGuid().ToString("N"));
        Database = new EnclaveDatabase(Path);
    }

    public string Path { get; }

    public EnclaveDatabase Database { get; }

    public static UsageRecord Record(string id, DateTimeOffset? time = null, string key = "k1", string model = "chat", int status = 200,
        int prompt = 10, int completion = 5, double latency = 100, double? ttft = 20, string backend = "local") => new()
    {
        RequestId = id,
        Time = time ?? new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero),
        KeyId = key,
        Model = model,
        Backend = backend,
        Route = "/v1/chat/completions",
        Stream = true,
        PromptTokens = prompt,
        CompletionTokens = completion,
        TimeToFirstTokenMs = ttft,
        LatencyMs = latency,
        Status = status,
        ErrorCode = status >= 400 ? "boom" : null,
        FinishReason = status >= 400 ? null : "stop",
    };

    /// <summary>Counts rows through a separate, unpooled connection (not the writer's).</summary>
    public long CountRows(string where = "1=1")
    {
        using var connection = new SqliteConnection($"Data Source={Database.DatabasePath};Pooling=False;Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM usage_ledger WHERE " + where;
        return (long)command.ExecuteScalar()!;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder must not fail a test.
        }
    }
}
