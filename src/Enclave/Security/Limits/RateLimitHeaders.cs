using System.Globalization;
using System.Text;

namespace Enclave.Security.Limits;

/// <summary>
/// Writes OpenAI's rate-limit headers: <c>x-ratelimit-{limit,remaining,reset}-{requests,tokens}</c> for the
/// per-minute limits a key has, with resets as Go-style durations (<c>20ms</c>, <c>1s</c>, <c>8.64s</c>,
/// <c>6m0s</c>), and on a rejection <c>Retry-After</c> in whole seconds. Call before the response starts; it
/// replaces earlier values. Thread-safe (stateless).
/// </summary>
public static class RateLimitHeaders
{
    public const string LimitRequests = "x-ratelimit-limit-requests";
    public const string RemainingRequests = "x-ratelimit-remaining-requests";
    public const string ResetRequests = "x-ratelimit-reset-requests";
    public const string LimitTokens = "x-ratelimit-limit-tokens";
    public const string RemainingTokens = "x-ratelimit-remaining-tokens";
    public const string ResetTokens = "x-ratelimit-reset-tokens";

    public static void Apply(HttpResponse response, LimitSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(snapshot);
        var headers = response.Headers;
        if (snapshot.RequestsLimit is int requests)
        {
            headers[LimitRequests] = requests.ToString(CultureInfo.InvariantCulture);
            headers[RemainingRequests] = snapshot.RequestsRemaining.ToString(CultureInfo.InvariantCulture);
            headers[ResetRequests] = FormatDuration(snapshot.RequestsReset);
        }

        if (snapshot.TokensLimit is int tokens)
        {
            headers[LimitTokens] = tokens.ToString(CultureInfo.InvariantCulture);
            headers[RemainingTokens] = snapshot.TokensRemaining.ToString(CultureInfo.InvariantCulture);
            headers[ResetTokens] = FormatDuration(snapshot.TokensReset);
        }

        if (snapshot.RetryAfter is TimeSpan retryAfter)
        {
            headers.RetryAfter = RetryAfterSeconds(retryAfter).ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Whole seconds, rounded up, at least 1.</summary>
    public static long RetryAfterSeconds(TimeSpan retryAfter) => (long)Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds));

    /// <summary>A duration as Go prints it, rounded up to whole milliseconds: <c>0s</c>, <c>20ms</c>, <c>1.5s</c>, <c>6m0s</c>, <c>1h2m3s</c>.</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        var ms = (long)Math.Ceiling(duration.TotalMilliseconds);
        if (ms <= 0)
        {
            return "0s";
        }

        if (ms < 1000)
        {
            return ms.ToString(CultureInfo.InvariantCulture) + "ms";
        }

        var text = new StringBuilder();
        if (ms >= 3_600_000)
        {
            text.Append(CultureInfo.InvariantCulture, $"{ms / 3_600_000}h");
        }

        if (ms >= 60_000)
        {
            text.Append(CultureInfo.InvariantCulture, $"{ms / 60_000 % 60}m");
        }

        var seconds = ms % 60_000 / 1000m;
        return text.Append(seconds.ToString("0.###", CultureInfo.InvariantCulture)).Append('s').ToString();
    }
}
