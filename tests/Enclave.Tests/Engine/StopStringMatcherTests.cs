using Enclave.Engine;

namespace Enclave.Tests.Engine;

public sealed class StopStringMatcherTests
{
    [Fact]
    public void Push_NoStops_PassesTextThrough()
    {
        var m = new StopStringMatcher([]);

        Assert.Equal("abc", m.Push("abc"));
        Assert.False(m.Stopped);
    }

    [Fact]
    public void Push_StopSplitAcrossPieces_HoldsBackThenStops()
    {
        var m = new StopStringMatcher(["END"]);

        Assert.Equal("hello ", m.Push("hello E"));
        Assert.Equal("", m.Push("N"));
        Assert.Equal("", m.Push("D and more"));
        Assert.True(m.Stopped);
        Assert.Equal("", m.Flush());
    }

    [Fact]
    public void Push_FalseStart_ReleasesHeldText()
    {
        var m = new StopStringMatcher(["END"]);

        Assert.Equal("a", m.Push("aE"));
        Assert.Equal("EX", m.Push("X"));
        Assert.False(m.Stopped);
    }

    [Fact]
    public void Push_EarliestOfSeveralStopsWins()
    {
        var m = new StopStringMatcher(["world", "lo"]);

        Assert.Equal("hel", m.Push("hello world"));
        Assert.True(m.Stopped);
    }

    [Fact]
    public void Flush_AtEndWithoutStop_ReturnsHeldText()
    {
        var m = new StopStringMatcher(["\n\n"]);

        Assert.Equal("line", m.Push("line\n"));
        Assert.Equal("\n", m.Flush());
    }

    [Fact]
    public void Push_AfterStop_IgnoresText()
    {
        var m = new StopStringMatcher(["x"]);
        m.Push("ax");

        Assert.Equal("", m.Push("more"));
    }
}
