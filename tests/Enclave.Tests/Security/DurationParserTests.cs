using Enclave.Cli;

namespace Enclave.Tests.Security;

public sealed class DurationParserTests
{
    [Theory]
    [InlineData("30s", 30)]
    [InlineData("15m", 15 * 60)]
    [InlineData("12h", 12 * 3600)]
    [InlineData("7d", 7 * 86400)]
    [InlineData("2w", 14 * 86400)]
    [InlineData("1d12h", 36 * 3600)]
    [InlineData("1h30m15s", 5415)]
    [InlineData("90m", 5400)]
    [InlineData("0h5m", 300)]
    public void TryParse_ValidDuration_ReturnsSeconds(string text, long seconds)
    {
        Assert.True(DurationParser.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("s")]
    [InlineData("5x")]
    [InlineData("0s")]
    [InlineData("-5m")]
    [InlineData("+5m")]
    [InlineData("1.5h")]
    [InlineData("5 m")]
    [InlineData(" 5m")]
    [InlineData("5M")]
    [InlineData("12h1d")]
    [InlineData("1h1h")]
    [InlineData("1d12")]
    [InlineData("1000000000s")]
    [InlineData("36501d")]
    [InlineData("99999999w")]
    public void TryParse_Invalid_ReturnsFalse(string? text)
    {
        Assert.False(DurationParser.TryParse(text, out _));
    }

    [Fact]
    public void Parse_Invalid_MessageNamesOptionAndExamples()
    {
        var error = Assert.Throws<FormatException>(() => DurationParser.Parse("soon", "--expires"));

        Assert.Contains("--expires 'soon'", error.Message);
        Assert.Contains("1d12h", error.Message);
    }

    [Theory]
    [InlineData("1d12h")]
    [InlineData("45s")]
    [InlineData("2h5m")]
    public void Format_ParsedDuration_RoundTrips(string text)
    {
        Assert.Equal(text, DurationParser.Format(DurationParser.Parse(text, "--grace")));
    }
}
