using System.Globalization;
using Enclave.Storage;

namespace Enclave.Security.Limits.Internal;

/// <summary>
/// Settled budget usage per key and period in <c>key_budget_usage</c>, shared by every process on the same
/// database and kept across restarts. Creates its table on first use. Thread-safe.
/// </summary>
internal sealed class BudgetStore(EnclaveDatabase database)
{
    internal static readonly Migration[] Migrations =
    [
        new("limits-001", """
            CREATE TABLE IF NOT EXISTS key_budget_usage (
                key_id TEXT NOT NULL,
                period_start TEXT NOT NULL,
                used_tokens INTEGER NOT NULL,
                PRIMARY KEY (key_id, period_start)
            ) WITHOUT ROWID
            """),
    ];

    private readonly Lock _lock = new();
    private Task? _migration;

    /// <summary>Runs the migrations once per instance (again after a failure); each caller waits with its own token.</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        Task migration;
        lock (_lock)
        {
            if (_migration is null || _migration.IsFaulted || _migration.IsCanceled)
            {
                // Not the caller's token: one caller giving up must not fail the migration for the others.
                _migration = database.MigrateAsync(Migrations, CancellationToken.None);
            }

            migration = _migration;
        }

        return migration.IsCompletedSuccessfully ? Task.CompletedTask : migration.WaitAsync(cancellationToken);
    }

    public async Task<long> ReadUsedAsync(string keyId, string periodStart, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT used_tokens FROM key_budget_usage WHERE key_id = $key AND period_start = $period";
        command.Parameters.AddWithValue("$key", keyId);
        command.Parameters.AddWithValue("$period", periodStart);
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is null or DBNull ? 0 : Convert.ToInt64(value, CultureInfo.InvariantCulture);
    }

    public async Task AddAsync(string keyId, string periodStart, long tokens, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO key_budget_usage (key_id, period_start, used_tokens) VALUES ($key, $period, $tokens)
            ON CONFLICT (key_id, period_start) DO UPDATE SET used_tokens = used_tokens + excluded.used_tokens
            """;
        command.Parameters.AddWithValue("$key", keyId);
        command.Parameters.AddWithValue("$period", periodStart);
        command.Parameters.AddWithValue("$tokens", tokens);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
