using Enclave.Security.Keys;

namespace Enclave.Tests.Security;

public sealed class ModelGlobTests
{
    [Theory]
    [InlineData("*", "anything", true)]
    [InlineData("*", "", true)]
    [InlineData("chat", "chat", true)]
    [InlineData("chat", "chat2", false)]
    [InlineData("chat", "Chat", false)]
    [InlineData("chat-*", "chat-small", true)]
    [InlineData("chat-*", "chat-", true)]
    [InlineData("chat-*", "chat", false)]
    [InlineData("*-instruct", "llama-3-instruct", true)]
    [InlineData("*-instruct", "llama-3-instruct-q4", false)]
    [InlineData("llama-?b", "llama-7b", true)]
    [InlineData("llama-?b", "llama-70b", false)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    [InlineData("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false)]
    [InlineData("??", "ab", true)]
    [InlineData("??", "abc", false)]
    [InlineData("", "", true)]
    [InlineData("", "x", false)]
    public void IsMatch_Glob_MatchesWholeNameCaseSensitively(string glob, string model, bool expected)
    {
        Assert.Equal(expected, ModelGlob.IsMatch(glob, model));
    }

    [Fact]
    public void Matches_AnyGlobMatches_ReturnsTrue()
    {
        Assert.True(ModelGlob.Matches(["embed", "chat-*"], "chat-large"));
        Assert.False(ModelGlob.Matches(["embed", "chat-*"], "bert"));
        Assert.False(ModelGlob.Matches([], "chat"));
    }
}
