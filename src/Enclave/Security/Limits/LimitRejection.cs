using Enclave.Security.Keys;

namespace Enclave.Security.Limits;

/// <summary>
/// Why a request was turned away. <see cref="Used"/> counts what the limit already holds (for a budget: tokens
/// used this period plus tokens reserved by requests in flight); <see cref="Requested"/> is what this request
/// asked for (1 for requests and concurrency, its reserved tokens otherwise). <see cref="RetryAfter"/> is whole
/// seconds, at least one; for a budget it is the time until the period resets. Immutable.
/// </summary>
public sealed record LimitRejection(
    string KeyId,
    LimitKind Kind,
    TimeSpan RetryAfter,
    long Limit,
    long Used,
    long Requested,
    BudgetPeriod? BudgetPeriod = null)
{
    /// <summary>True when the request alone exceeds the limit, so waiting cannot help: reduce the prompt or max_tokens.</summary>
    public bool IsRequestTooLarge => Kind is LimitKind.Tokens or LimitKind.Budget && Requested > Limit;

    /// <summary>Rounds a wait up to whole seconds, at least one, as <c>Retry-After</c> carries it.</summary>
    internal static TimeSpan RoundUp(TimeSpan wait) =>
        TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(wait.TotalSeconds)));
}
