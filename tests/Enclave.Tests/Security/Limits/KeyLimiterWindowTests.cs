using Enclave.Security.Keys;
using Enclave.Security.Limits;

namespace Enclave.Tests.Security.Limits;

public sealed class KeyLimiterWindowTests : IDisposable
{
    private readonly LimitsTestContext _ctx = new();

    public void Dispose() => _ctx.Dispose();

    [Fact]
    public async Task TryAdmitAsync_RequestsPerMinuteExceeded_RejectsUntilWindowSlides()
    {
        var key = LimitsTestContext.Key(rpm: 3);
        for (var i = 0; i < 3; i++)
        {
            await using var lease = await _ctx.AdmitAsync(key, 0);
            Assert.Equal(2 - i, lease.Snapshot.RequestsRemaining);
            _ctx.Time.Advance(TimeSpan.FromSeconds(10));
        }

        var rejection = await _ctx.RejectAsync(key, 0);
        Assert.Equal(LimitKind.Requests, rejection.Kind);
        Assert.Equal(TimeSpan.FromSeconds(30), rejection.RetryAfter);

        _ctx.Time.Advance(TimeSpan.FromSeconds(29.5));
        Assert.Equal(TimeSpan.FromSeconds(1), (await _ctx.RejectAsync(key, 0)).RetryAfter);

        _ctx.Time.Advance(TimeSpan.FromSeconds(0.5));
        await using var again = await _ctx.AdmitAsync(key, 0);
        Assert.Equal(0, again.Snapshot.RequestsRemaining);
    }

    [Fact]
    public async Task SettleAsync_BelowReservation_FreesTokensPerMinute()
    {
        var key = LimitsTestContext.Key(tpm: 1000);
        await using var first = await _ctx.AdmitAsync(key, 800);
        Assert.Equal(200, first.Snapshot.TokensRemaining);

        var rejection = await _ctx.RejectAsync(key, 300);
        Assert.Equal(LimitKind.Tokens, rejection.Kind);
        Assert.Equal(TimeSpan.FromSeconds(60), rejection.RetryAfter);

        await first.SettleAsync(200);
        await using var second = await _ctx.AdmitAsync(key, 300);
        Assert.Equal(500, second.Snapshot.TokensRemaining);
    }

    [Fact]
    public async Task TryAdmitAsync_TokensOverLimit_RetryAfterWhenEnoughTokensLeaveWindow()
    {
        var key = LimitsTestContext.Key(tpm: 1000);
        await using (var first = await _ctx.AdmitAsync(key, 400))
        {
            await first.SettleAsync(400);
        }

        _ctx.Time.Advance(TimeSpan.FromSeconds(20));
        await using (var second = await _ctx.AdmitAsync(key, 400))
        {
            await second.SettleAsync(400);
        }

        Assert.Equal(TimeSpan.FromSeconds(40), (await _ctx.RejectAsync(key, 300)).RetryAfter);
        _ctx.Time.Advance(TimeSpan.FromSeconds(40));
        await using var third = await _ctx.AdmitAsync(key, 300);
        Assert.Equal(TimeSpan.FromSeconds(20), (await _ctx.RejectAsync(key, 400)).RetryAfter);
    }

    [Fact]
    public async Task DisposeAsync_WithoutSettle_ReleasesReservationAndSlot()
    {
        var key = LimitsTestContext.Key(tpm: 1000, concurrency: 1, budget: 1000, period: BudgetPeriod.Day);
        var lease = await _ctx.AdmitAsync(key, 1000);
        await _ctx.RejectAsync(key, 1);

        await lease.DisposeAsync();

        await using var next = await _ctx.AdmitAsync(key, 1000);
        Assert.Equal(0, next.Snapshot.TokensRemaining);
    }

    [Fact]
    public async Task TryAdmitAsync_RequestLargerThanTokensPerMinute_RejectedAsTooLarge()
    {
        var rejection = await _ctx.RejectAsync(LimitsTestContext.Key(tpm: 100), 101);

        Assert.Equal(LimitKind.Tokens, rejection.Kind);
        Assert.True(rejection.IsRequestTooLarge);
    }

    [Fact]
    public async Task TryAdmitAsync_ConcurrencyLimitReached_RejectsUntilLeaseDisposed()
    {
        var key = LimitsTestContext.Key(concurrency: 2);
        var first = await _ctx.AdmitAsync(key, 10);
        await using var second = await _ctx.AdmitAsync(key, 10);

        var rejection = await _ctx.RejectAsync(key, 10);
        Assert.Equal(LimitKind.Concurrency, rejection.Kind);
        Assert.Equal(TimeSpan.FromSeconds(1), rejection.RetryAfter);

        await first.SettleAsync(10);
        await _ctx.RejectAsync(key, 10);
        await first.DisposeAsync();
        await first.DisposeAsync();
        await using var third = await _ctx.AdmitAsync(key, 10);
        await _ctx.RejectAsync(key, 10);
    }

    [Fact]
    public async Task TryAdmitAsync_Rejected_ConsumesNothing()
    {
        var key = LimitsTestContext.Key(rpm: 3, tpm: 1000, concurrency: 2, budget: 1500, period: BudgetPeriod.Day);
        await using var first = await _ctx.AdmitAsync(key, 900);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(LimitKind.Tokens, (await _ctx.RejectAsync(key, 500)).Kind);
        }

        // Had the rejections reserved anything, the budget (1500) or requests per minute (3) would refuse this.
        await using var second = await _ctx.AdmitAsync(key, 100);
        Assert.Equal(1, second.Snapshot.RequestsRemaining);
        Assert.Equal(0, second.Snapshot.TokensRemaining);
        Assert.Equal(LimitKind.Tokens, (await _ctx.RejectAsync(key, 1)).Kind);
    }

    [Fact]
    public async Task SettleAsync_CalledTwice_CountsOnce()
    {
        var key = LimitsTestContext.Key(tpm: 1000);
        var lease = await _ctx.AdmitAsync(key, 500);

        await lease.SettleAsync(300);
        await lease.SettleAsync(300);
        await lease.SettleAsync(900);
        await lease.DisposeAsync();

        Assert.True(lease.IsSettled);
        await _ctx.RejectAsync(key, 701);
        await using var rest = await _ctx.AdmitAsync(key, 700);
    }

    [Fact]
    public async Task TryAdmitAsync_UnlimitedKey_AlwaysAdmitted()
    {
        var key = LimitsTestContext.Key();
        var leases = new List<LimitLease>();
        for (var i = 0; i < 1000; i++)
        {
            leases.Add(await _ctx.AdmitAsync(key, long.MaxValue / 2000));
        }

        Assert.Equal(LimitSnapshot.Unlimited, leases[^1].Snapshot);
        foreach (var lease in leases)
        {
            await lease.DisposeAsync();
        }
    }

    [Fact]
    public async Task TryAdmitAsync_FiftyConcurrentAgainstTokensForTen_AdmitsTen()
    {
        var key = LimitsTestContext.Key(tpm: 1000);

        var decisions = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
            Task.Run(async () => await _ctx.Limiter.TryAdmitAsync(key, 100, CancellationToken.None))));

        Assert.Equal(10, decisions.Count(d => d.IsAdmitted));
    }
}
