using System.Globalization;
using Enclave.Ledger;
using Enclave.Storage;

namespace Enclave.Capacity.Bench;

/// <summary>
/// The shape of recorded traffic, read from the usage ledger: for each successful generation request, when it
/// arrived and how many prompt and completion tokens it had, plus the time to first token and latency it was
/// served with. The ledger holds no prompt or completion text, and neither does this. Immutable.
/// </summary>
public sealed record LedgerTraffic(IReadOnlyList<LedgerRequestShape> Requests)
{
    /// <summary>Most recent requests read; older ones are left out.</summary>
    public const int MaxRequests = 100_000;

    /// <summary>Recorded arrivals per second between the first and last request; null with fewer than two.</summary>
    public double? ArrivalRate => Requests.Count < 2 || Requests[^1].OffsetSeconds <= 0
        ? null
        : (Requests.Count - 1) / Requests[^1].OffsetSeconds;

    /// <summary>
    /// Reads successful chat and text completions since <paramref name="since"/> (all when null), of
    /// <paramref name="model"/> when given, oldest first.
    /// </summary>
    public static async Task<LedgerTraffic> ReadAsync(EnclaveDatabase database, DateTimeOffset? since, string? model, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await database.MigrateAsync(LedgerSchema.Migrations, cancellationToken).ConfigureAwait(false);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT at, prompt_tokens, completion_tokens, ttft_ms, latency_ms FROM (
                SELECT * FROM usage_ledger
                WHERE status < 400 AND error_code IS NULL AND completion_tokens > 0
                  AND route IN ('/v1/chat/completions', '/v1/completions')
                  AND ($since IS NULL OR at >= $since) AND ($model IS NULL OR model = $model)
                ORDER BY at DESC LIMIT {MaxRequests})
            ORDER BY at
            """;
        command.Parameters.AddWithValue("$since", since is { } s ? LedgerSchema.FormatTime(s) : DBNull.Value);
        command.Parameters.AddWithValue("$model", (object?)model ?? DBNull.Value);
        var rows = new List<LedgerRequestShape>();
        DateTimeOffset? first = null;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var at = DateTimeOffset.Parse(reader.GetString(0), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            first ??= at;
            rows.Add(new LedgerRequestShape(
                (at - first.Value).TotalSeconds,
                reader.GetInt32(1),
                reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetDouble(3),
                reader.GetDouble(4)));
        }

        return new LedgerTraffic(rows);
    }
}

/// <summary>One recorded request: seconds after the first one, token counts, and how it was served. Immutable.</summary>
public sealed record LedgerRequestShape(double OffsetSeconds, int PromptTokens, int CompletionTokens, double? TimeToFirstTokenMs, double LatencyMs);
