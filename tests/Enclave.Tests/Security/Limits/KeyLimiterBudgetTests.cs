using Enclave.Security.Keys;
using Enclave.Security.Limits;
using Microsoft.Extensions.Time.Testing;

namespace Enclave.Tests.Security.Limits;

public sealed class KeyLimiterBudgetTests : IDisposable
{
    private readonly LimitsTestContext _ctx = new(new DateTimeOffset(2025, 1, 31, 22, 0, 0, TimeSpan.Zero));

    public void Dispose() => _ctx.Dispose();

    [Fact]
    public async Task TryAdmitAsync_DailyBudgetExhausted_ResetsAtUtcMidnight()
    {
        var key = LimitsTestContext.Key(budget: 1000, period: BudgetPeriod.Day);
        await using (var lease = await _ctx.AdmitAsync(key, 1000))
        {
            await lease.SettleAsync(1000);
        }

        var rejection = await _ctx.RejectAsync(key, 1);
        Assert.Equal(LimitKind.Budget, rejection.Kind);
        Assert.Equal(TimeSpan.FromHours(2), rejection.RetryAfter);
        Assert.Equal(1000, rejection.Used);

        _ctx.Time.Advance(TimeSpan.FromHours(2) - TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(1), (await _ctx.RejectAsync(key, 1)).RetryAfter);

        _ctx.Time.Advance(TimeSpan.FromSeconds(1));
        await using var tomorrow = await _ctx.AdmitAsync(key, 1000);
    }

    [Fact]
    public async Task TryAdmitAsync_MonthlyBudgetExhausted_ResetsOnFirstOfNextMonth()
    {
        var key = LimitsTestContext.Key(budget: 500, period: BudgetPeriod.Month);
        await using (var lease = await _ctx.AdmitAsync(key, 100))
        {
            await lease.SettleAsync(500);
        }

        Assert.Equal(TimeSpan.FromHours(2), (await _ctx.RejectAsync(key, 1)).RetryAfter);

        _ctx.Time.Advance(TimeSpan.FromDays(10));
        var february = await _ctx.AdmitAsync(key, 500);
        await february.SettleAsync(500);
        await february.DisposeAsync();

        // 2025-02-10T22:00Z to 2025-03-01T00:00Z.
        var rejection = await _ctx.RejectAsync(key, 1);
        Assert.Equal(TimeSpan.FromDays(18) + TimeSpan.FromHours(2), rejection.RetryAfter);
        Assert.Equal(BudgetPeriod.Month, rejection.BudgetPeriod);
    }

    [Fact]
    public async Task TryAdmitAsync_FiftyConcurrentAgainstBudgetForTen_AdmitsAtMostTen()
    {
        var key = LimitsTestContext.Key(budget: 1000, period: BudgetPeriod.Day);

        var decisions = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
            Task.Run(async () => await _ctx.Limiter.TryAdmitAsync(key, 100, CancellationToken.None))));

        var admitted = decisions.Where(d => d.IsAdmitted).Select(d => d.Lease!).ToList();
        Assert.Equal(10, admitted.Count);
        Assert.All(decisions.Where(d => !d.IsAdmitted), d => Assert.Equal(LimitKind.Budget, d.Rejection!.Kind));

        await Task.WhenAll(admitted.Select(async lease =>
        {
            await lease.SettleAsync(100);
            await lease.DisposeAsync();
        }));
        Assert.Equal(1000, (await _ctx.RejectAsync(key, 1, _ctx.NewLimiter())).Used);
    }

    [Fact]
    public async Task TryAdmitAsync_AdmissionsRacingSettlements_NeverOverspend()
    {
        var key = LimitsTestContext.Key(budget: 1000, period: BudgetPeriod.Day);

        var admitted = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(async () =>
        {
            var decision = await _ctx.Limiter.TryAdmitAsync(key, 100, CancellationToken.None);
            if (!decision.IsAdmitted)
            {
                return 0;
            }

            await using var lease = decision.Lease;
            await lease.SettleAsync(100);
            return 1;
        })));

        Assert.Equal(10, admitted.Sum());
    }

    [Fact]
    public async Task TryAdmitAsync_NewLimiterOnSameDatabase_SeesPersistedUsage()
    {
        var key = LimitsTestContext.Key(budget: 1000, period: BudgetPeriod.Day);
        await using (var lease = await _ctx.AdmitAsync(key, 900))
        {
            await lease.SettleAsync(800);
        }

        var restarted = _ctx.NewLimiter();
        var rejection = await _ctx.RejectAsync(key, 201, restarted);
        Assert.Equal(800, rejection.Used);
        await using var fits = await _ctx.AdmitAsync(key, 200, restarted);
    }

    [Fact]
    public async Task SettleAsync_AboveReservation_ChargesActualTokens()
    {
        var key = LimitsTestContext.Key(budget: 1000, period: BudgetPeriod.Day);
        await using (var lease = await _ctx.AdmitAsync(key, 100))
        {
            await lease.SettleAsync(900);
        }

        await _ctx.RejectAsync(key, 101);
        await using var rest = await _ctx.AdmitAsync(key, 100);
    }

    [Fact]
    public async Task SettleAsync_AfterMidnight_ChargesDayOfAdmission()
    {
        _ctx.Time.Advance(TimeSpan.FromHours(2) - TimeSpan.FromSeconds(30));
        var key = LimitsTestContext.Key(budget: 1000, period: BudgetPeriod.Day);
        var lease = await _ctx.AdmitAsync(key, 600);

        _ctx.Time.Advance(TimeSpan.FromMinutes(1));
        await using var newDay = await _ctx.AdmitAsync(key, 1000);
        await lease.SettleAsync(600);
        await lease.DisposeAsync();
        await newDay.SettleAsync(1000);

        var yesterday = _ctx.NewLimiter(new FakeTimeProvider(_ctx.Time.GetUtcNow().AddDays(-1)));
        Assert.Equal(600, (await _ctx.RejectAsync(key, 401, yesterday)).Used);
    }
}
