namespace Enclave.Security.Limits;

/// <summary>
/// The numbers behind OpenAI's <c>x-ratelimit-*</c> headers, taken when a request was admitted (counting that
/// request) or rejected. A null limit means the key has none and its headers are left out. Resets are the time
/// until the window holds nothing again. <see cref="RetryAfter"/> is set on rejections only. Immutable.
/// </summary>
public sealed record LimitSnapshot(
    int? RequestsLimit,
    long RequestsRemaining,
    TimeSpan RequestsReset,
    int? TokensLimit,
    long TokensRemaining,
    TimeSpan TokensReset,
    TimeSpan? RetryAfter = null)
{
    /// <summary>A key without per-minute limits: no headers.</summary>
    public static LimitSnapshot Unlimited { get; } = new(null, 0, TimeSpan.Zero, null, 0, TimeSpan.Zero);
}
