using System.Globalization;
using Enclave.Storage;

namespace Enclave.Ledger;

/// <summary>
/// The <c>usage_ledger</c> table. <c>at</c> holds fixed-width UTC text (<see cref="FormatTime"/>) so that text order
/// is time order and <c>substr(at, 1, 10)</c> is the UTC day. Thread-safe (stateless).
/// </summary>
internal static class LedgerSchema
{
    public static readonly Migration[] Migrations =
    [
        new("ledger-001", """
            CREATE TABLE IF NOT EXISTS usage_ledger (
                id INTEGER PRIMARY KEY,
                request_id TEXT NOT NULL UNIQUE,
                at TEXT NOT NULL,
                key_id TEXT NOT NULL,
                model TEXT NOT NULL,
                backend TEXT NOT NULL,
                route TEXT NOT NULL,
                stream INTEGER NOT NULL,
                prompt_tokens INTEGER NOT NULL,
                completion_tokens INTEGER NOT NULL,
                ttft_ms REAL,
                latency_ms REAL NOT NULL,
                status INTEGER NOT NULL,
                error_code TEXT,
                finish_reason TEXT,
                guardrail_triggers TEXT NOT NULL DEFAULT ''
            );
            CREATE INDEX IF NOT EXISTS ix_usage_ledger_at ON usage_ledger (at);
            CREATE INDEX IF NOT EXISTS ix_usage_ledger_key_id ON usage_ledger (key_id);
            CREATE INDEX IF NOT EXISTS ix_usage_ledger_model ON usage_ledger (model);
            """),
    ];

    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
