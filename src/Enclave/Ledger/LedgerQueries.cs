using System.Globalization;
using Enclave.Storage;

namespace Enclave.Ledger;

/// <summary>Read-side aggregates over <c>usage_ledger</c>. Thread-safe: each call opens its own connection.</summary>
public static class LedgerQueries
{
    /// <summary>
    /// Totals per group since <paramref name="since"/> (inclusive; everything when null), largest request count first.
    /// Creates the table when it does not exist yet, so an empty data directory answers with no rows.
    /// </summary>
    public static async Task<IReadOnlyList<UsageRow>> UsageAsync(EnclaveDatabase db, DateTimeOffset? since, UsageGrouping by, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        await db.MigrateAsync(LedgerSchema.Migrations, ct).ConfigureAwait(false);
        var group = by switch
        {
            UsageGrouping.Key => "key_id",
            UsageGrouping.Model => "model",
            UsageGrouping.Backend => "backend",
            UsageGrouping.Day => "substr(at, 1, 10)",
            _ => throw new ArgumentOutOfRangeException(nameof(by), by, "Unknown grouping."),
        };

        // The p95 is nearest-rank: the ceil(0.95 n)-th smallest time to first token of the group.
        var sql = $"""
            WITH f AS (SELECT {group} AS g, * FROM usage_ledger WHERE $since IS NULL OR at >= $since),
            ranked AS (
                SELECT g, ttft_ms, ROW_NUMBER() OVER (PARTITION BY g ORDER BY ttft_ms) AS rn, COUNT(*) OVER (PARTITION BY g) AS n
                FROM f WHERE ttft_ms IS NOT NULL),
            p95 AS (SELECT g, ttft_ms FROM ranked WHERE rn = (n * 95 + 99) / 100)
            SELECT f.g, COUNT(*), TOTAL(prompt_tokens), TOTAL(completion_tokens), SUM(status >= 400), AVG(latency_ms), p95.ttft_ms
            FROM f LEFT JOIN p95 ON p95.g = f.g
            GROUP BY f.g
            ORDER BY COUNT(*) DESC, f.g
            """;
        await using var connection = await db.OpenAsync(ct).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$since", since is { } s ? LedgerSchema.FormatTime(s) : DBNull.Value);
        var rows = new List<UsageRow>();
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            rows.Add(new UsageRow(
                reader.GetString(0),
                reader.GetInt64(1),
                (long)reader.GetDouble(2),
                (long)reader.GetDouble(3),
                reader.GetInt64(4),
                reader.GetDouble(5),
                reader.IsDBNull(6) ? null : reader.GetDouble(6)));
        }

        return rows;
    }

    /// <summary>Parses <c>key</c>, <c>model</c>, <c>backend</c> or <c>day</c> (any case).</summary>
    public static bool TryParseGrouping(string? text, out UsageGrouping grouping)
    {
        UsageGrouping? parsed = text?.ToLowerInvariant() switch
        {
            "key" => UsageGrouping.Key,
            "model" => UsageGrouping.Model,
            "backend" => UsageGrouping.Backend,
            "day" => UsageGrouping.Day,
            _ => null,
        };
        grouping = parsed ?? UsageGrouping.Key;
        return parsed is not null;
    }

    /// <summary>
    /// Parses a start time: a duration back from <paramref name="now"/> (<c>24h</c>, <c>7d</c>, <c>1d12h</c>), a
    /// date (<c>2025-06-01</c>, midnight UTC) or an ISO-8601 time with an offset (<c>2025-06-01T12:00:00Z</c>).
    /// </summary>
    public static bool TryParseSince(string? text, DateTimeOffset now, out DateTimeOffset since)
    {
        since = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        if (Cli.DurationParser.TryParse(text, out var duration))
        {
            since = now - duration;
            return true;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            since = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return true;
        }

        return text.Contains('T', StringComparison.Ordinal)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out since);
    }

    internal const string SinceHelp = "Use a duration back from now (30m, 24h, 7d, 1d12h), a date (2025-06-01, UTC) or an ISO-8601 time (2025-06-01T12:00:00Z).";

    internal const string ByHelp = "Use key, model, backend or day.";
}
