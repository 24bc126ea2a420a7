using System.Collections.Concurrent;
using Enclave.Security.Keys;
using Enclave.Security.Limits.Internal;
using Enclave.Storage;

namespace Enclave.Security.Limits;

/// <summary>
/// Enforces a key's requests per minute, tokens per minute, concurrent requests and token budget per UTC day or
/// month (<see cref="ApiKeyRecord"/>; null limits are unlimited). Per-minute limits are exact sliding 60-second
/// windows on the monotonic clock (<see cref="TimeProvider.GetTimestamp"/>); budget periods follow
/// <see cref="TimeProvider.GetUtcNow"/>. Limits are read from the record on every call, so changed limits apply
/// at once.
/// <para>
/// Admission checks every limit before changing any counter, so a rejected request consumes nothing. A budget
/// admission reads the settled usage from <c>key_budget_usage</c> and reserves in memory under one lock per key,
/// so concurrent admissions in this process never overspend; reservations are not shared between processes (two
/// gateways on one database can each spend what they reserved) and are lost on a crash.
/// </para>
/// <para>
/// The table is created on first budget use; call <see cref="InitializeAsync"/> at startup to do it (and surface
/// database errors) earlier. Thread-safe; register as a singleton. Per-key state lives for the process.
/// </para>
/// </summary>
public sealed class KeyLimiter
{
    private readonly ConcurrentDictionary<string, KeyLimitState> _states = new(StringComparer.Ordinal);
    private readonly BudgetStore _budgets;
    private readonly TimeProvider _time;

    public KeyLimiter(EnclaveDatabase database, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(time);
        _budgets = new BudgetStore(database);
        _time = time;
    }

    /// <summary>Applies the <c>limits-*</c> migrations now rather than on the first request with a budget.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken) =>
        _budgets.EnsureCreatedAsync(cancellationToken);

    /// <summary>
    /// Admits a request of <paramref name="key"/> that may use up to <paramref name="reservedTokens"/> tokens
    /// (prompt tokens plus max_tokens), or says which limit refuses it. Completes synchronously unless the key has
    /// a budget. <paramref name="key"/> is not mutated.
    /// </summary>
    public ValueTask<LimitDecision> TryAdmitAsync(ApiKeyRecord key, long reservedTokens, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentOutOfRangeException.ThrowIfNegative(reservedTokens);
        var state = _states.GetOrAdd(key.Id, static (_, time) => new KeyLimitState(time), _time);
        if (key.TokenBudget is not long budget)
        {
            return ValueTask.FromResult(Admit(state, key, reservedTokens, null));
        }

        return AdmitWithBudgetAsync(state, key, reservedTokens, budget, cancellationToken);
    }

    private async ValueTask<LimitDecision> AdmitWithBudgetAsync(KeyLimitState state, ApiKeyRecord key, long reservedTokens,
        long budget, CancellationToken cancellationToken)
    {
        await _budgets.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await state.BudgetGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // A budget without a period counts per month, the usual billing cycle.
            var window = BudgetWindow.Containing(key.BudgetPeriod ?? BudgetPeriod.Month, _time.GetUtcNow());
            var used = await _budgets.ReadUsedAsync(key.Id, window.Key, cancellationToken).ConfigureAwait(false);
            return Admit(state, key, reservedTokens, new BudgetView(window, budget, used));
        }
        finally
        {
            state.BudgetGate.Release();
        }
    }

    private LimitDecision Admit(KeyLimitState state, ApiKeyRecord key, long reservedTokens, BudgetView? budget)
    {
        var (rejection, entry, snapshot) = state.Admit(key, reservedTokens, budget);
        if (rejection is not null)
        {
            return LimitDecision.Rejected(rejection, snapshot);
        }

        var lease = new LimitLease(state, _budgets, key.Id, entry, reservedTokens, budget?.Window.Key, snapshot);
        return LimitDecision.Admitted(lease);
    }
}
