using Enclave.Security.Limits.Internal;

namespace Enclave.Security.Limits;

/// <summary>
/// An admitted request's hold on its key's limits: one concurrency slot, and <see cref="ReservedTokens"/> counted
/// in the tokens-per-minute window and reserved against the budget. <see cref="SettleAsync"/> replaces the
/// reservation with the tokens the request really used; disposing ends the request and frees the slot. A lease
/// disposed without settling counts 0 tokens (the reservation is simply released), so callers must settle
/// whatever was produced, also on failure or client disconnect: settle prompt plus completion tokens known so far.
/// A lease that is never disposed keeps its slot forever; use <c>await using</c>. Thread-safe; settling and
/// disposing are idempotent.
/// </summary>
public sealed class LimitLease : IAsyncDisposable
{
    private readonly KeyLimitState _state;
    private readonly BudgetStore _budgets;
    private readonly string _keyId;
    private readonly WindowEntry? _entry;
    private readonly string? _budgetPeriod;
    private int _settled;
    private int _disposed;

    internal LimitLease(KeyLimitState state, BudgetStore budgets, string keyId, WindowEntry? entry, long reservedTokens,
        string? budgetPeriod, LimitSnapshot snapshot)
    {
        _state = state;
        _budgets = budgets;
        _keyId = keyId;
        _entry = entry;
        _budgetPeriod = budgetPeriod;
        ReservedTokens = reservedTokens;
        Snapshot = snapshot;
    }

    /// <summary>Tokens reserved at admission (prompt tokens plus max_tokens).</summary>
    public long ReservedTokens { get; }

    /// <summary>The header numbers right after admission, counting this request.</summary>
    public LimitSnapshot Snapshot { get; }

    public bool IsSettled => Volatile.Read(ref _settled) != 0;

    /// <summary>
    /// Counts <paramref name="actualTokens"/> (prompt plus completion) instead of the reservation, in the
    /// tokens-per-minute window and in the budget of the period the request was admitted in, which is persisted.
    /// Only the first call counts. It takes no cancellation token on purpose: usage must be recorded even when the
    /// client has gone. If the database write fails the reservation is still released and the exception
    /// propagates (those tokens are then missing from the budget).
    /// </summary>
    public async ValueTask SettleAsync(long actualTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actualTokens);
        if (Interlocked.Exchange(ref _settled, 1) != 0)
        {
            return;
        }

        if (_budgetPeriod is null || actualTokens == 0)
        {
            // Releasing a reservation without usage needs no gate: admissions can only see less reserved.
            _state.Settle(_entry, ReservedTokens, actualTokens, _budgetPeriod);
            return;
        }

        await _state.BudgetGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await _budgets.AddAsync(_keyId, _budgetPeriod, actualTokens, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _state.Settle(_entry, ReservedTokens, actualTokens, _budgetPeriod);
            _state.BudgetGate.Release();
        }
    }

    /// <summary>Settles with 0 tokens if not yet settled and frees the concurrency slot.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await SettleAsync(0).ConfigureAwait(false);
        }
        finally
        {
            _state.ReleaseSlot();
        }
    }
}
