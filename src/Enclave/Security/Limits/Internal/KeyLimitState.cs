using Enclave.Security.Keys;

namespace Enclave.Security.Limits.Internal;

/// <summary>
/// In-memory limit state of one key: the last 60 seconds of admitted requests on the monotonic clock (one entry
/// each, holding its tokens, so one log serves both requests and tokens per minute exactly), the requests in
/// flight, and the budget tokens they reserved. Thread-safe: every member runs under one lock, and an admission
/// checks every limit before it changes any counter.
/// </summary>
internal sealed class KeyLimitState(TimeProvider time)
{
    private static readonly TimeSpan ConcurrencyRetry = TimeSpan.FromSeconds(1);
    private readonly Lock _lock = new();
    private readonly Queue<WindowEntry> _window = new();
    private readonly long _windowTicks = time.TimestampFrequency * 60;
    private long _requests;
    private long _tokens;
    private long _lastRequestAt;
    private long _lastEntryAt;
    private int _inFlight;
    private string? _budgetPeriod;
    private long _budgetReserved;

    /// <summary>
    /// Serialises, per key, "read used from the database, check, reserve" with "persist actual, release
    /// reservation": without it an admission could read usage before a settlement wrote it and then see that
    /// settlement's reservation already released, and so miss its tokens. Never disposed: no wait handle is used.
    /// </summary>
    public SemaphoreSlim BudgetGate { get; } = new(1, 1);

    public (LimitRejection? Rejection, WindowEntry? Entry, LimitSnapshot Snapshot) Admit(ApiKeyRecord key, long tokens, BudgetView? budget)
    {
        lock (_lock)
        {
            var now = time.GetTimestamp();
            Prune(now);
            if (budget is { } current && current.Window.Key != _budgetPeriod)
            {
                // A new period: reservations of the old one settle into the old one and are not counted here.
                _budgetPeriod = current.Window.Key;
                _budgetReserved = 0;
            }

            if (Check(key, tokens, budget, now) is { } rejection)
            {
                return (rejection, null, Snapshot(key, now));
            }

            WindowEntry? entry = null;
            if (key.RequestsPerMinute is not null || key.TokensPerMinute is not null)
            {
                entry = new WindowEntry(now, tokens, isRequest: true);
                Enqueue(entry);
            }

            _inFlight++;
            if (budget is not null)
            {
                _budgetReserved += tokens;
            }

            return (null, entry, Snapshot(key, now));
        }
    }

    /// <summary>Replaces the entry's reserved tokens by the actual ones and drops the budget reservation.</summary>
    public void Settle(WindowEntry? entry, long reserved, long actual, string? budgetPeriod)
    {
        lock (_lock)
        {
            if (entry is { Expired: false })
            {
                _tokens += actual - entry.Tokens;
                entry.Tokens = actual;
            }
            else if (entry is not null && actual > reserved)
            {
                // The reservation already left the window; the tokens beyond it count from now.
                Enqueue(new WindowEntry(time.GetTimestamp(), actual - reserved, isRequest: false));
            }

            if (budgetPeriod is not null && budgetPeriod == _budgetPeriod)
            {
                _budgetReserved -= reserved;
            }
        }
    }

    public void ReleaseSlot()
    {
        lock (_lock)
        {
            _inFlight--;
        }
    }

    private LimitRejection? Check(ApiKeyRecord key, long tokens, BudgetView? budget, long now)
    {
        if (budget is { } b && (b.Used + _budgetReserved >= b.Limit || b.Used + _budgetReserved + tokens > b.Limit))
        {
            return new(key.Id, LimitKind.Budget, LimitRejection.RoundUp(b.Window.End - time.GetUtcNow()), b.Limit,
                b.Used + _budgetReserved, tokens, b.Window.Period);
        }

        if (key.RequestsPerMinute is int rpm && _requests >= rpm)
        {
            return new(key.Id, LimitKind.Requests, LimitRejection.RoundUp(UntilRequestFrees(now)), rpm, _requests, 1);
        }

        if (key.TokensPerMinute is int tpm && (_tokens >= tpm || _tokens + tokens > tpm))
        {
            var wait = tokens > tpm ? TimeSpan.FromMinutes(1) : UntilTokensFree(now, Math.Max(1, _tokens + tokens - tpm));
            return new(key.Id, LimitKind.Tokens, LimitRejection.RoundUp(wait), tpm, _tokens, tokens);
        }

        if (key.Concurrency is int concurrency && _inFlight >= concurrency)
        {
            return new(key.Id, LimitKind.Concurrency, ConcurrencyRetry, concurrency, _inFlight, 1);
        }

        return null;
    }

    private LimitSnapshot Snapshot(ApiKeyRecord key, long now) => new(
        key.RequestsPerMinute,
        Math.Max(0, (key.RequestsPerMinute ?? 0) - _requests),
        _requests > 0 ? Until(_lastRequestAt, now) : TimeSpan.Zero,
        key.TokensPerMinute,
        Math.Max(0, (key.TokensPerMinute ?? 0) - _tokens),
        _tokens > 0 ? Until(_lastEntryAt, now) : TimeSpan.Zero);

    private TimeSpan UntilRequestFrees(long now)
    {
        foreach (var entry in _window)
        {
            if (entry.IsRequest)
            {
                return Until(entry.At, now);
            }
        }

        return TimeSpan.FromMinutes(1);
    }

    private TimeSpan UntilTokensFree(long now, long needed)
    {
        long freed = 0;
        foreach (var entry in _window)
        {
            freed += entry.Tokens;
            if (freed >= needed)
            {
                return Until(entry.At, now);
            }
        }

        return TimeSpan.FromMinutes(1);
    }

    /// <summary>Time from <paramref name="now"/> until an entry stamped <paramref name="at"/> leaves the window.</summary>
    private TimeSpan Until(long at, long now)
    {
        var wait = time.GetElapsedTime(now, at + _windowTicks);
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }

    private void Enqueue(WindowEntry entry)
    {
        _window.Enqueue(entry);
        _tokens += entry.Tokens;
        _lastEntryAt = entry.At;
        if (entry.IsRequest)
        {
            _requests++;
            _lastRequestAt = entry.At;
        }
    }

    private void Prune(long now)
    {
        while (_window.TryPeek(out var oldest) && oldest.At + _windowTicks <= now)
        {
            _window.Dequeue();
            oldest.Expired = true;
            _tokens -= oldest.Tokens;
            if (oldest.IsRequest)
            {
                _requests--;
            }
        }
    }
}
