using Enclave.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Enclave.Security.Keys;

/// <summary>
/// <see cref="IApiKeyStore"/> over the embedded SQLite database (table <c>api_keys</c>, migration <c>keys-001</c>).
/// Only HMAC-SHA256 hashes of secrets are stored (see <see cref="KeyHasher"/>). Nothing is cached: every
/// authentication is one indexed lookup, so a key created, revoked or rotated by another process (the CLI) takes effect
/// at once. Expiry is judged with the injected <see cref="TimeProvider"/>. The schema is applied and the hash key loaded
/// on first use (or by <see cref="InitializeAsync"/>). Thread-safe; arguments are not mutated. Logs key ids, never secrets.
/// </summary>
public sealed partial class SqliteApiKeyStore : IApiKeyStore
{
    private readonly EnclaveDatabase _database;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Lock _initGate = new();
    private Task<KeyHasher>? _initialization;

    /// <summary>A store over <paramref name="database"/>; the hash key comes from <c>ENCLAVE_KEY_HASH_KEY</c> or
    /// <c>&lt;data-dir&gt;/secrets/key-hash.key</c> (created on first use).</summary>
    public SqliteApiKeyStore(EnclaveDatabase database, TimeProvider timeProvider, ILogger<SqliteApiKeyStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _database = database;
        _timeProvider = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The schema this store applies (exposed for start-up checks and tooling).</summary>
    public static IReadOnlyList<Migration> Migrations => ApiKeyRows.Migrations;

    /// <summary>Applies the schema and loads (or creates) the hash key; safe to call more than once.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken) => HasherAsync(cancellationToken);

    public async Task<IssuedKey> CreateAsync(CreateKeyRequest request, CancellationToken cancellationToken)
    {
        var normalized = CreateKeyRequestValidator.Normalize(request);
        var hasher = await HasherAsync(cancellationToken).ConfigureAwait(false);
        var now = _timeProvider.GetUtcNow();
        var template = new ApiKeyRecord
        {
            Id = "",
            Name = normalized.Name,
            Models = normalized.Models!,
            Scopes = normalized.Scopes!,
            RequestsPerMinute = normalized.RequestsPerMinute,
            TokensPerMinute = normalized.TokensPerMinute,
            Concurrency = normalized.Concurrency,
            TokenBudget = normalized.TokenBudget,
            BudgetPeriod = normalized.BudgetPeriod,
            CreatedAt = now,
            ExpiresAt = normalized.ExpiresAfter is { } lifetime ? now + lifetime : null,
        };
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var issued = await InsertAsync(connection, null, template, hasher, rotatedFrom: null, cancellationToken).ConfigureAwait(false);
        LogCreated(_logger, issued.Key.Id, issued.Key.Name);
        return issued;
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken)
    {
        await HasherAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {ApiKeyRows.Columns} FROM api_keys ORDER BY created_at, id";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var keys = new List<ApiKeyRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(ApiKeyRows.Read(reader));
        }

        return keys;
    }

    public async Task<ApiKeyRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        await HasherAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await FindAsync(connection, null, id, cancellationToken).ConfigureAwait(false))?.Key;
    }

    public async Task<bool> RevokeAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        await HasherAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE api_keys SET revoked_at = $now WHERE id = $id AND revoked_at IS NULL";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$now", ApiKeyRows.FormatTime(_timeProvider.GetUtcNow()));
        var revoked = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        if (revoked)
        {
            LogRevoked(_logger, id);
        }

        return revoked;
    }

    public async Task<IssuedKey?> RotateAsync(string id, TimeSpan grace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentOutOfRangeException.ThrowIfLessThan(grace, TimeSpan.Zero);
        var hasher = await HasherAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        // BEGIN IMMEDIATE: read, insert and update as one step, so two rotations of one key cannot both succeed.
        await using var transaction = connection.BeginTransaction(deferred: false);
        var now = _timeProvider.GetUtcNow();
        var old = (await FindAsync(connection, transaction, id, cancellationToken).ConfigureAwait(false))?.Key;
        if (old is null || !ApiKeyRows.IsActive(old, now))
        {
            return null;
        }

        // The new key keeps the old one's absolute expiry: rotation renews the secret, not the lifetime.
        var issued = await InsertAsync(connection, transaction, old with { Id = "", CreatedAt = now }, hasher, old.Id, cancellationToken).ConfigureAwait(false);
        var graceEnd = now + grace;
        var oldExpiry = old.ExpiresAt is { } current && current < graceEnd ? current : graceEnd;
        await using (var update = connection.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = "UPDATE api_keys SET expires_at = $expires WHERE id = $id";
            update.Parameters.AddWithValue("$id", old.Id);
            update.Parameters.AddWithValue("$expires", ApiKeyRows.FormatTime(oldExpiry));
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        LogRotated(_logger, old.Id, issued.Key.Id, oldExpiry);
        return issued;
    }

    public async Task<ApiKeyRecord?> AuthenticateAsync(string presentedSecret, CancellationToken cancellationToken)
    {
        if (!ApiKeySecret.TryParse(presentedSecret, out var id, out var secret))
        {
            return null;
        }

        var hasher = await HasherAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var found = await FindAsync(connection, null, id, cancellationToken).ConfigureAwait(false);
        // Always hash and compare (against a dummy for unknown ids), so timing does not tell whether the id exists.
        if (!hasher.Matches(secret, found?.Hash) || found is null)
        {
            LogRejected(_logger, id);
            return null;
        }

        return ApiKeyRows.IsActive(found.Value.Key, _timeProvider.GetUtcNow()) ? found.Value.Key : null;
    }

    public async Task<bool> AnyAsync(CancellationToken cancellationToken)
    {
        await HasherAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT EXISTS (SELECT 1 FROM api_keys)";
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) != 0;
    }

    private static async Task<(ApiKeyRecord Key, byte[] Hash)?> FindAsync(SqliteConnection connection, SqliteTransaction? transaction, string id, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {ApiKeyRows.Columns}, secret_hash FROM api_keys WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var hash = reader.GetString(12);
        return (ApiKeyRows.Read(reader), hash.Length == 64 ? Convert.FromHexString(hash) : []);
    }

    private static async Task<IssuedKey> InsertAsync(SqliteConnection connection, SqliteTransaction? transaction, ApiKeyRecord template, KeyHasher hasher, string? rotatedFrom, CancellationToken cancellationToken)
    {
        // 36^12 ids make a collision vanishingly rare; retry rather than fail if one happens.
        for (var attempt = 0; ; attempt++)
        {
            var key = template with { Id = ApiKeySecret.NewId() };
            var secret = ApiKeySecret.NewSecret();
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            ApiKeyRows.Bind(command, key, hasher.Hash(secret), rotatedFrom);
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return new IssuedKey(key, ApiKeySecret.Format(key.Id, secret));
            }
            catch (SqliteException ex) when (ex.SqliteExtendedErrorCode == 1555 && attempt < 3)
            {
                // SQLITE_CONSTRAINT_PRIMARYKEY: the id exists; draw another.
            }
        }
    }

    private Task<KeyHasher> HasherAsync(CancellationToken cancellationToken)
    {
        Task<KeyHasher> task;
        lock (_initGate)
        {
            if (_initialization is null || _initialization.IsFaulted || _initialization.IsCanceled)
            {
                // Not tied to one caller's token: the first caller's cancellation must not fail everyone else's start.
                _initialization = Task.Run(async () =>
                {
                    await _database.MigrateAsync(ApiKeyRows.Migrations, CancellationToken.None).ConfigureAwait(false);
                    return KeyHasher.ForDataDirectory(_database.DataDirectory);
                }, CancellationToken.None);
            }

            task = _initialization;
        }

        return task.IsCompletedSuccessfully ? task : task.WaitAsync(cancellationToken);
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Created API key {KeyId} ({KeyName})")]
    private static partial void LogCreated(ILogger logger, string keyId, string keyName);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Revoked API key {KeyId}")]
    private static partial void LogRevoked(ILogger logger, string keyId);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Rotated API key {KeyId} to {NewKeyId}; the old key expires at {ExpiresAt}")]
    private static partial void LogRotated(ILogger logger, string keyId, string newKeyId, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Debug, Message = "Rejected a key presented with id {KeyId}")]
    private static partial void LogRejected(ILogger logger, string keyId);
}
