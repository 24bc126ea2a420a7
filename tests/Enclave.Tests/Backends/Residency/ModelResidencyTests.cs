using Enclave.Backends;
using Enclave.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Enclave.Tests.Backends.Residency;

/// <summary>Load on first use, keep-alive, leases and the memory budget, on fake workers and a fake clock.</summary>
public sealed class ModelResidencyTests : IDisposable
{
    private static readonly KeepAlive TwoSeconds = KeepAlive.From(TimeSpan.FromSeconds(2));

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private ModelResidency? _residency;

    public void Dispose() => _residency?.Dispose();

    [Fact]
    public async Task Acquire_ConcurrentFirstRequests_StartTheWorkerOnce()
    {
        var a = new FakeResidentWorker("a");
        var residency = Create(null, (a, 100, TwoSeconds));

        var first = residency.AcquireAsync("a", CancellationToken.None).AsTask();
        var second = residency.AcquireAsync("a", CancellationToken.None).AsTask();
        var admissions = await Task.WhenAll(first, second);

        Assert.All(admissions, x => Assert.True(x.IsAdmitted));
        Assert.Equal(1, a.Starts);
        Assert.Equal(2, Info(residency, "a").ActiveRequests);
        Assert.Equal(WorkerState.Starting, Info(residency, "a").State);
    }

    [Fact]
    public async Task Release_IdleForKeepAlive_UnloadsThenNextRequestLoadsAgain()
    {
        var a = new FakeResidentWorker("a");
        var residency = Create(null, (a, 100, TwoSeconds));
        var lease = (await residency.AcquireAsync("a", CancellationToken.None)).Lease!;
        a.MakeReady();

        lease.Dispose();
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(2), Info(residency, "a").ExpiresAt);
        _time.Advance(TimeSpan.FromMilliseconds(1900));
        Assert.Equal(0, a.Unloads);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        await EventuallyAsync(() => a.State == WorkerState.Unloaded, "the idle model unloads");
        Assert.Null(Info(residency, "a").ExpiresAt);

        using var again = (await residency.AcquireAsync("a", CancellationToken.None)).Lease;
        Assert.NotNull(again);
        Assert.Equal(2, a.Starts);
    }

    [Fact]
    public async Task Lease_HeldLongPastKeepAlive_IsNeverUnloaded_KeepAliveStartsWhenItEnds()
    {
        var a = new FakeResidentWorker("a");
        var residency = Create(null, (a, 100, TwoSeconds));
        var lease = (await residency.AcquireAsync("a", CancellationToken.None)).Lease!;
        a.MakeReady();

        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, a.Unloads);
        Assert.Null(Info(residency, "a").ExpiresAt);

        lease.Dispose();
        lease.Dispose(); // idempotent: one release only
        Assert.Equal(0, Info(residency, "a").ActiveRequests);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(2), Info(residency, "a").ExpiresAt);
        Assert.Equal(_time.GetUtcNow(), Info(residency, "a").LastUsed);
    }

    [Fact]
    public async Task KeepAliveZero_UnloadsWhenTheLastLeaseEnds()
    {
        var a = new FakeResidentWorker("a");
        var residency = Create(null, (a, 100, KeepAlive.Zero));
        var one = (await residency.AcquireAsync("a", CancellationToken.None)).Lease!;
        var two = (await residency.AcquireAsync("a", CancellationToken.None)).Lease!;
        a.MakeReady();

        one.Dispose();
        Assert.Equal(WorkerState.Ready, a.State);
        two.Dispose();
        await EventuallyAsync(() => a.State == WorkerState.Unloaded, "the model unloads at once");
        Assert.Equal(1, a.Unloads);
    }

    [Fact]
    public async Task KeepAliveForever_NeverExpires()
    {
        var a = new FakeResidentWorker("a");
        var residency = Create(null, (a, 100, KeepAlive.Forever));
        (await residency.AcquireAsync("a", CancellationToken.None)).Lease!.Dispose();

        _time.Advance(TimeSpan.FromDays(400));
        Assert.Null(Info(residency, "a").ExpiresAt);
        Assert.Equal(0, a.Unloads);
    }

    [Fact]
    public async Task LongKeepAlive_BeyondOneTimerPeriod_StillUnloadsOnTime()
    {
        var a = new FakeResidentWorker("a");
        var residency = Create(null, (a, 100, KeepAlive.Parse("3d")));
        (await residency.AcquireAsync("a", CancellationToken.None)).Lease!.Dispose();

        _time.Advance(TimeSpan.FromDays(2.9));
        Assert.Equal(0, a.Unloads);
        _time.Advance(TimeSpan.FromDays(0.2));
        await EventuallyAsync(() => a.Unloads == 1, "the model unloads after three days");
    }

    [Fact]
    public async Task Budget_LoadingAnother_UnloadsTheLeastRecentlyUsedIdleModelFirst_AndStartsAfterItsUnload()
    {
        var (a, b, c) = (new FakeResidentWorker("a"), new FakeResidentWorker("b"), new FakeResidentWorker("c"));
        var residency = Create(250, (a, 100, KeepAlive.Forever), (b, 100, KeepAlive.Forever), (c, 100, KeepAlive.Forever));
        (await residency.AcquireAsync("b", CancellationToken.None)).Lease!.Dispose();
        _time.Advance(TimeSpan.FromSeconds(1));
        (await residency.AcquireAsync("a", CancellationToken.None)).Lease!.Dispose();
        _time.Advance(TimeSpan.FromSeconds(1));
        var hold = new TaskCompletionSource();
        b.HoldUnload = hold;

        using var lease = (await residency.AcquireAsync("c", CancellationToken.None)).Lease;

        Assert.NotNull(lease);
        await EventuallyAsync(() => b.State == WorkerState.Unloading, "b, the least recently used, is unloading");
        Assert.Equal(0, a.Unloads);
        Assert.Equal(0, c.Starts); // not while b's memory is still in use
        hold.SetResult();
        await EventuallyAsync(() => c.Starts == 1, "c starts once b is unloaded");
        Assert.Equal(WorkerState.Unloaded, b.State);
        Assert.Equal(0, b.Snapshot().Restarts);
    }

    [Fact]
    public async Task Budget_HeldOnlyByBusyModels_RefusesWithRetryAfter_AndUnloadsNothing()
    {
        var (a, b) = (new FakeResidentWorker("a"), new FakeResidentWorker("b"));
        var residency = Create(150, (a, 100, KeepAlive.Forever), (b, 100, KeepAlive.Forever));
        var busy = (await residency.AcquireAsync("a", CancellationToken.None)).Lease!;
        a.MakeReady();

        var refused = await residency.AcquireAsync("b", CancellationToken.None);

        Assert.False(refused.IsAdmitted);
        Assert.Equal(ModelResidency.BudgetRetryAfter, refused.RetryAfter);
        Assert.Contains("memory budget", refused.Refusal, StringComparison.Ordinal);
        Assert.DoesNotContain("'a'", refused.Refusal, StringComparison.Ordinal);
        Assert.Equal(refused, residency.LastRefusal("b"));
        Assert.Equal((0, 0), (a.Unloads, b.Starts));
        Assert.Equal(WorkerState.Ready, a.State);

        // Once a is idle it makes room.
        busy.Dispose();
        using var admitted = (await residency.AcquireAsync("b", CancellationToken.None)).Lease;
        Assert.NotNull(admitted);
        Assert.Null(residency.LastRefusal("b"));
        await EventuallyAsync(() => a.State == WorkerState.Unloaded && b.Starts == 1, "a makes room for b");
    }

    [Fact]
    public async Task Budget_ModelLargerThanTheWholeBudget_IsRefused()
    {
        var a = new FakeResidentWorker("a");
        var residency = Create(99, (a, 100, KeepAlive.Forever));

        var refused = await residency.AcquireAsync("a", CancellationToken.None);

        Assert.False(refused.IsAdmitted);
        Assert.Contains("Residency:MemoryBudgetBytes", refused.Refusal, StringComparison.Ordinal);
        Assert.Equal(0, a.Starts);
    }

    [Fact]
    public async Task Budget_MeasuredResidentMemoryAboveTheEstimate_IsWhatCounts()
    {
        var (a, b) = (new FakeResidentWorker("a") { Resident = 200 }, new FakeResidentWorker("b"));
        var residency = Create(250, (a, 100, KeepAlive.Forever), (b, 100, KeepAlive.Forever));
        (await residency.AcquireAsync("a", CancellationToken.None)).Lease!.Dispose();
        Assert.Equal(200, Info(residency, "a").SizeBytes);
        Assert.Equal(100, Info(residency, "a").EstimatedBytes);

        // By the estimates both fit (100 + 100 <= 250); by what a really uses they do not.
        using var lease = (await residency.AcquireAsync("b", CancellationToken.None)).Lease;

        Assert.NotNull(lease);
        await EventuallyAsync(() => a.Unloads == 1, "a makes room");
    }

    [Fact]
    public async Task Acquire_WhileTheModelIsUnloading_WaitsThenLoadsItAgain()
    {
        var a = new FakeResidentWorker("a");
        var residency = Create(null, (a, 100, KeepAlive.Zero));
        var hold = new TaskCompletionSource();
        a.HoldUnload = hold;
        (await residency.AcquireAsync("a", CancellationToken.None)).Lease!.Dispose();
        await EventuallyAsync(() => a.State == WorkerState.Unloading, "the unload begins");

        var pending = residency.AcquireAsync("a", CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(pending.IsCompleted);
        hold.SetResult();
        using var lease = (await pending).Lease;

        Assert.NotNull(lease);
        await EventuallyAsync(() => a.Starts == 2, "the model loads again");
    }

    [Fact]
    public async Task SetKeepAlive_OnIdleModel_AppliesFromNow_AndLastsUntilItUnloads()
    {
        var a = new FakeResidentWorker("a");
        var residency = Create(null, (a, 100, TwoSeconds));
        (await residency.AcquireAsync("a", CancellationToken.None)).Lease!.Dispose();

        Assert.True(residency.SetKeepAlive("a", TimeSpan.FromMinutes(10)));
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(10), Info(residency, "a").ExpiresAt);
        (await residency.AcquireAsync("a", CancellationToken.None)).Lease!.Dispose();
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(10), Info(residency, "a").ExpiresAt);

        Assert.True(residency.SetKeepAlive("a", TimeSpan.FromSeconds(-1)));
        Assert.Null(Info(residency, "a").ExpiresAt);
        Assert.True(Info(residency, "a").KeepAlive.IsForever);

        Assert.True(residency.SetKeepAlive("a", TimeSpan.Zero));
        await EventuallyAsync(() => a.State == WorkerState.Unloaded, "keep_alive 0 unloads the idle model");

        // The override ended with the unload: the next load uses the configured keep-alive.
        (await residency.AcquireAsync("a", CancellationToken.None)).Lease!.Dispose();
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(2), Info(residency, "a").ExpiresAt);
        Assert.False(residency.SetKeepAlive("nope", null));
    }

    [Fact]
    public async Task SetKeepAlive_WhileServing_AppliesWhenTheRequestEnds()
    {
        var a = new FakeResidentWorker("a");
        var residency = Create(null, (a, 100, KeepAlive.Forever));
        var lease = (await residency.AcquireAsync("a", CancellationToken.None)).Lease!;
        a.MakeReady();

        residency.SetKeepAlive("a", TimeSpan.Zero);
        Assert.Equal(WorkerState.Ready, a.State);
        lease.Dispose();
        await EventuallyAsync(() => a.State == WorkerState.Unloaded, "unloaded when the request ended");
    }

    [Fact]
    public async Task StartPreloads_LoadsPreloadedModelsThatFit_KeepAliveStartsWhenReady()
    {
        var (a, b, c) = (new FakeResidentWorker("a"), new FakeResidentWorker("b"), new FakeResidentWorker("c"));
        _residency = new ModelResidency(
            [new(a, 100, true, TwoSeconds), new(b, 100, true, TwoSeconds), new(c, 10, false, TwoSeconds)], 150, _time, NullLogger.Instance);

        _residency.StartPreloads();

        Assert.Equal((1, 0, 0), (a.Starts, b.Starts, c.Starts));
        Assert.Equal(1, Info(_residency, "a").ActiveRequests);
        Assert.Null(Info(_residency, "a").ExpiresAt);
        a.MakeReady();
        await EventuallyAsync(() => Info(_residency, "a").ActiveRequests == 0, "the start-up lease ends when ready");
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(2), Info(_residency, "a").ExpiresAt);
        Assert.True(Info(_residency, "a").Preload);
        Assert.False(Info(_residency, "c").Preload);
    }

    [Fact]
    public async Task Snapshot_ReportsStatusSizeAndResidentMemory()
    {
        var a = new FakeResidentWorker("a") { Resident = 42 };
        var residency = Create(null, (a, 100, TwoSeconds));
        Assert.Equal(("unloaded", false, (long?)null), (Info(residency, "a").Status, Info(residency, "a").IsLoaded, Info(residency, "a").ResidentBytes));

        using var lease = (await residency.AcquireAsync("a", CancellationToken.None)).Lease;
        Assert.Equal("loading", Info(residency, "a").Status);
        a.MakeReady();
        var info = Info(residency, "a");
        Assert.Equal(("loaded", true, (long?)42, 100L), (info.Status, info.IsLoaded, info.ResidentBytes, info.SizeBytes));
    }

    private ModelResidency Create(long? budget, params (FakeResidentWorker Worker, long Size, KeepAlive KeepAlive)[] models)
    {
        _residency = new ModelResidency(models.Select(m => new ModelResidency.Spec(m.Worker, m.Size, false, m.KeepAlive)), budget, _time, NullLogger.Instance);
        return _residency;
    }

    private static ModelResidencyInfo Info(ModelResidency residency, string model) => residency.Snapshot().Single(i => i.Model == model);

    private static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = Deadline.In(TimeSpan.FromSeconds(20));
        while (!condition())
        {
            Assert.False(deadline.Passed, $"timed out waiting until {what}");
            await Task.Delay(10);
        }
    }
}
