using Enclave.Backends;

namespace Enclave.Tests.Backends.Residency;

public sealed class KeepAliveTests
{
    [Theory]
    [InlineData("5m", 300_000)]
    [InlineData("30s", 30_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("250ms", 250)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2d", 172_800_000)]
    [InlineData("90", 90_000)]
    [InlineData(" 0 ", 0)]
    [InlineData("0s", 0)]
    public void TryParse_Durations(string text, long milliseconds)
    {
        Assert.True(KeepAlive.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value.Duration);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("-1m")]
    [InlineData("forever")]
    [InlineData("Never")]
    [InlineData("200000000d")]
    public void TryParse_ForeverForms(string text)
    {
        Assert.True(KeepAlive.TryParse(text, out var value));
        Assert.True(value.IsForever);
        Assert.Equal("forever", value.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("5 m")]
    [InlineData("5x")]
    [InlineData("m")]
    [InlineData("5m30")]
    [InlineData("1.2.3s")]
    [InlineData("NaN")]
    [InlineData("00:05:00")]
    public void TryParse_RejectsMalformed(string? text) => Assert.False(KeepAlive.TryParse(text, out _));

    [Fact]
    public void From_NegativeIsForever_ToStringRoundTrips()
    {
        Assert.True(KeepAlive.From(TimeSpan.FromSeconds(-5)).IsForever);
        Assert.Equal("5m", KeepAlive.From(TimeSpan.FromMinutes(5)).ToString());
        Assert.Equal("90s", KeepAlive.From(TimeSpan.FromSeconds(90)).ToString());
        Assert.Equal("0", KeepAlive.Zero.ToString());
        Assert.Equal(KeepAlive.Parse("1500ms"), KeepAlive.Parse(KeepAlive.Parse("1500ms").ToString()));
        Assert.Throws<FormatException>(() => KeepAlive.Parse("soon"));
    }
}
