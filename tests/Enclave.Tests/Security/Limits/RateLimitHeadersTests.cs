using Enclave.Security.Keys;
using Enclave.Security.Limits;
using Microsoft.AspNetCore.Http;

namespace Enclave.Tests.Security.Limits;

public sealed class RateLimitHeadersTests
{
    [Theory]
    [InlineData(0, "0s")]
    [InlineData(0.0004, "1ms")]
    [InlineData(20, "20ms")]
    [InlineData(999, "999ms")]
    [InlineData(1000, "1s")]
    [InlineData(8640, "8.64s")]
    [InlineData(360_000, "6m0s")]
    [InlineData(3_723_000, "1h2m3s")]
    [InlineData(7_200_000, "2h0m0s")]
    public void FormatDuration_Milliseconds_FormatsLikeOpenAI(double milliseconds, string expected)
    {
        Assert.Equal(expected, RateLimitHeaders.FormatDuration(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [Fact]
    public void Apply_AdmittedSnapshot_WritesLimitRemainingReset()
    {
        var response = new DefaultHttpContext().Response;

        RateLimitHeaders.Apply(response, new LimitSnapshot(60, 59, TimeSpan.FromSeconds(1), 1000, 250, TimeSpan.FromMilliseconds(20)));

        Assert.Equal("60", response.Headers["x-ratelimit-limit-requests"]);
        Assert.Equal("59", response.Headers["x-ratelimit-remaining-requests"]);
        Assert.Equal("1s", response.Headers["x-ratelimit-reset-requests"]);
        Assert.Equal("1000", response.Headers["x-ratelimit-limit-tokens"]);
        Assert.Equal("250", response.Headers["x-ratelimit-remaining-tokens"]);
        Assert.Equal("20ms", response.Headers["x-ratelimit-reset-tokens"]);
        Assert.False(response.Headers.ContainsKey("Retry-After"));
    }

    [Fact]
    public void Apply_RejectedSnapshot_WritesRetryAfterInWholeSeconds()
    {
        var response = new DefaultHttpContext().Response;

        RateLimitHeaders.Apply(response, new LimitSnapshot(3, 0, TimeSpan.FromSeconds(40), null, 0, TimeSpan.Zero, TimeSpan.FromSeconds(2.1)));

        Assert.Equal("3", response.Headers["Retry-After"]);
        Assert.Equal("0", response.Headers["x-ratelimit-remaining-requests"]);
        Assert.False(response.Headers.ContainsKey("x-ratelimit-limit-tokens"));
    }

    [Fact]
    public void Apply_UnlimitedSnapshot_WritesNothing()
    {
        var response = new DefaultHttpContext().Response;

        RateLimitHeaders.Apply(response, LimitSnapshot.Unlimited);

        Assert.Empty(response.Headers);
    }

    [Theory]
    [InlineData(LimitKind.Requests, "requests", "rate_limit_exceeded", "requests per min (RPM): Limit 3")]
    [InlineData(LimitKind.Tokens, "tokens", "rate_limit_exceeded", "tokens per min (TPM): Limit 3")]
    [InlineData(LimitKind.Concurrency, "requests", "rate_limit_exceeded", "concurrent requests for key key_1: Limit 3")]
    [InlineData(LimitKind.Budget, "insufficient_quota", "insufficient_quota", "Limit 3 tokens per day")]
    public void From_Rejection_DescribesLimitInOpenAITerms(LimitKind kind, string type, string code, string message)
    {
        var rejection = new LimitRejection("key_1", kind, TimeSpan.FromSeconds(20), 3, 3, 1, BudgetPeriod.Day);

        var error = LimitErrors.From(rejection);

        Assert.Equal(429, error.Status);
        Assert.Equal(type, error.Type);
        Assert.Equal(code, error.Code);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void From_TokensRequestLargerThanLimit_SaysRetryingCannotHelp()
    {
        var error = LimitErrors.From(new LimitRejection("key_1", LimitKind.Tokens, TimeSpan.FromSeconds(60), 100, 0, 101));

        Assert.StartsWith("Request too large for key key_1", error.Message, StringComparison.Ordinal);
    }
}
