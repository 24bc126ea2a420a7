using System.Globalization;
using System.Text.Json;
using Enclave.Storage;
using Microsoft.Data.Sqlite;

namespace Enclave.Security.Keys;

/// <summary>The <c>api_keys</c> table: schema, column list and row mapping. Thread-safe (stateless).</summary>
internal static class ApiKeyRows
{
    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new("keys-001", """
            CREATE TABLE IF NOT EXISTS api_keys (
                id            TEXT PRIMARY KEY,
                name          TEXT NOT NULL,
                secret_hash   TEXT NOT NULL,
                models_json   TEXT NOT NULL,
                scopes_json   TEXT NOT NULL,
                rpm           INTEGER,
                tpm           INTEGER,
                concurrency   INTEGER,
                token_budget  INTEGER,
                budget_period TEXT,
                created_at    TEXT NOT NULL,
                expires_at    TEXT,
                revoked_at    TEXT,
                rotated_from  TEXT
            );
            """),
    ];

    public const string Columns = "id, name, models_json, scopes_json, rpm, tpm, concurrency, token_budget, budget_period, created_at, expires_at, revoked_at";

    public static ApiKeyRecord Read(SqliteDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Name = reader.GetString(1),
        Models = JsonSerializer.Deserialize<string[]>(reader.GetString(2)) ?? [],
        Scopes = JsonSerializer.Deserialize<string[]>(reader.GetString(3)) ?? [],
        RequestsPerMinute = reader.IsDBNull(4) ? null : reader.GetInt32(4),
        TokensPerMinute = reader.IsDBNull(5) ? null : reader.GetInt32(5),
        Concurrency = reader.IsDBNull(6) ? null : reader.GetInt32(6),
        TokenBudget = reader.IsDBNull(7) ? null : reader.GetInt64(7),
        BudgetPeriod = reader.IsDBNull(8) ? null : Enum.Parse<BudgetPeriod>(reader.GetString(8), ignoreCase: true),
        CreatedAt = ParseTime(reader.GetString(9)),
        ExpiresAt = reader.IsDBNull(10) ? null : ParseTime(reader.GetString(10)),
        RevokedAt = reader.IsDBNull(11) ? null : ParseTime(reader.GetString(11)),
    };

    public static void Bind(SqliteCommand command, ApiKeyRecord key, byte[] secretHash, string? rotatedFrom)
    {
        command.CommandText = """
            INSERT INTO api_keys (id, name, secret_hash, models_json, scopes_json, rpm, tpm, concurrency, token_budget,
                                  budget_period, created_at, expires_at, revoked_at, rotated_from)
            VALUES ($id, $name, $hash, $models, $scopes, $rpm, $tpm, $concurrency, $budget, $period, $created, $expires, NULL, $from)
            """;
        command.Parameters.AddWithValue("$id", key.Id);
        command.Parameters.AddWithValue("$name", key.Name);
        command.Parameters.AddWithValue("$hash", Convert.ToHexStringLower(secretHash));
        command.Parameters.AddWithValue("$models", JsonSerializer.Serialize(key.Models));
        command.Parameters.AddWithValue("$scopes", JsonSerializer.Serialize(key.Scopes));
        command.Parameters.AddWithValue("$rpm", (object?)key.RequestsPerMinute ?? DBNull.Value);
        command.Parameters.AddWithValue("$tpm", (object?)key.TokensPerMinute ?? DBNull.Value);
        command.Parameters.AddWithValue("$concurrency", (object?)key.Concurrency ?? DBNull.Value);
        command.Parameters.AddWithValue("$budget", (object?)key.TokenBudget ?? DBNull.Value);
        command.Parameters.AddWithValue("$period", key.BudgetPeriod is { } p ? p.ToString().ToLowerInvariant() : DBNull.Value);
        command.Parameters.AddWithValue("$created", FormatTime(key.CreatedAt));
        command.Parameters.AddWithValue("$expires", key.ExpiresAt is { } e ? FormatTime(e) : DBNull.Value);
        command.Parameters.AddWithValue("$from", (object?)rotatedFrom ?? DBNull.Value);
    }

    public static string FormatTime(DateTimeOffset time) => time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseTime(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    /// <summary>Active: not revoked and not yet at its expiry.</summary>
    public static bool IsActive(ApiKeyRecord key, DateTimeOffset now) => key.RevokedAt is null && (key.ExpiresAt is not { } expires || now < expires);
}
