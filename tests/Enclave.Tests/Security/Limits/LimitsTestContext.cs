using Enclave.Security.Keys;
using Enclave.Security.Limits;
using Enclave.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Enclave.Tests.Security.Limits;

/// <summary>A fake clock, a database in a temporary folder, and a limiter over both.</summary>
internal sealed class LimitsTestContext : IDisposable
{
    public LimitsTestContext(DateTimeOffset? start = null)
    {
        Time = new FakeTimeProvider(start ?? new DateTimeOffset(2025, 3, 14, 12, 0, 0, TimeSpan.Zero));
        Database = new EnclaveDatabase(DataDirectory);
        Limiter = new KeyLimiter(Database, Time);
    }

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "enclave-limits-" + Guid.NewGuid().ToString("N"));

    public FakeTimeProvider Time { get; }

    public EnclaveDatabase Database { get; }

    public KeyLimiter Limiter { get; }

    /// <summary>A second limiter on the same database file, as after a restart or in another process.</summary>
    public KeyLimiter NewLimiter(TimeProvider? time = null) => new(new EnclaveDatabase(DataDirectory), time ?? Time);

    public static ApiKeyRecord Key(int? rpm = null, int? tpm = null, int? concurrency = null, long? budget = null,
        BudgetPeriod? period = null, string id = "key_test") => new()
        {
            Id = id,
            Name = "test",
            RequestsPerMinute = rpm,
            TokensPerMinute = tpm,
            Concurrency = concurrency,
            TokenBudget = budget,
            BudgetPeriod = period,
            CreatedAt = DateTimeOffset.UnixEpoch,
        };

    public async Task<LimitLease> AdmitAsync(ApiKeyRecord key, long tokens, KeyLimiter? limiter = null)
    {
        var decision = await (limiter ?? Limiter).TryAdmitAsync(key, tokens, CancellationToken.None);
        Assert.True(decision.IsAdmitted, $"expected admission, got {decision.Rejection}");
        return decision.Lease;
    }

    public async Task<LimitRejection> RejectAsync(ApiKeyRecord key, long tokens, KeyLimiter? limiter = null)
    {
        var decision = await (limiter ?? Limiter).TryAdmitAsync(key, tokens, CancellationToken.None);
        Assert.False(decision.IsAdmitted, "expected a rejection");
        return decision.Rejection;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
