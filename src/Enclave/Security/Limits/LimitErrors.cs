using System.Globalization;
using Enclave.Api;
using Enclave.Security.Keys;

namespace Enclave.Security.Limits;

/// <summary>
/// The client-visible 429 for a <see cref="LimitRejection"/>, in OpenAI's terms: type <c>requests</c> or
/// <c>tokens</c> with code <c>rate_limit_exceeded</c>, or type and code <c>insufficient_quota</c> for an
/// exhausted budget. Messages name the key id and the limit, never a secret. Thread-safe (stateless).
/// </summary>
public static class LimitErrors
{
    public static ApiError From(LimitRejection rejection)
    {
        ArgumentNullException.ThrowIfNull(rejection);
        var r = rejection;
        var wait = RateLimitHeaders.FormatDuration(r.RetryAfter);
        return r.Kind switch
        {
            LimitKind.Requests => RateLimit("requests", Format(
                $"Rate limit reached for key {r.KeyId} on requests per min (RPM): Limit {r.Limit}, Used {r.Used}, Requested {r.Requested}. Please try again in {wait}.")),
            LimitKind.Tokens when r.IsRequestTooLarge => RateLimit("tokens", Format(
                $"Request too large for key {r.KeyId} on tokens per min (TPM): Limit {r.Limit}, Requested {r.Requested}. Reduce the prompt or max_tokens.")),
            LimitKind.Tokens => RateLimit("tokens", Format(
                $"Rate limit reached for key {r.KeyId} on tokens per min (TPM): Limit {r.Limit}, Used {r.Used}, Requested {r.Requested}. Please try again in {wait}.")),
            LimitKind.Concurrency => RateLimit("requests", Format(
                $"Too many concurrent requests for key {r.KeyId}: Limit {r.Limit}. Please try again when a request finishes.")),
            LimitKind.Budget => new ApiError(StatusCodes.Status429TooManyRequests, "insufficient_quota", "insufficient_quota", Format(
                $"Token budget exceeded for key {r.KeyId}: Limit {r.Limit} tokens per {Period(r.BudgetPeriod)}, Used {r.Used}, Requested {r.Requested}. {BudgetAdvice(r, wait)}")),
            _ => throw new ArgumentOutOfRangeException(nameof(rejection), r.Kind, "Unknown limit kind."),
        };
    }

    private static ApiError RateLimit(string type, string message) =>
        new(StatusCodes.Status429TooManyRequests, type, "rate_limit_exceeded", message);

    private static string Format(FormattableString message) => message.ToString(CultureInfo.InvariantCulture);

    private static string BudgetAdvice(LimitRejection r, string wait) =>
        r.IsRequestTooLarge ? "Reduce the prompt or max_tokens." : $"The budget resets in {wait}.";

    private static string Period(BudgetPeriod? period) => period == BudgetPeriod.Day ? "day" : "month";
}
