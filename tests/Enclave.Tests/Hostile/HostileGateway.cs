using System.Net;
using System.Text;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Hostile;

/// <summary>
/// One gateway for the bad-input catalogue and the fuzzer: a chat model, a completion model and an encoder, each
/// on one thread with a 256-token context and max_tokens capped at 2 by settings, so a valid body costs little.
/// </summary>
public sealed class HostileGateway : IAsyncLifetime
{
    public const int Context = 256;

    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var small = new Dictionary<string, string> { ["ContextSize"] = Context.ToString(System.Globalization.CultureInfo.InvariantCulture), ["MaxTokensLimit"] = "2" };
        Gateway = await GatewayProcess.StartAsync(
        [
            new ModelSpec("chat", TestModels.StoriesChat, small),
            new ModelSpec("stories", TestModels.Stories, small),
            new ModelSpec("bert", TestModels.Bert),
        ]);
    }

    public async Task DisposeAsync() => await Gateway.DisposeAsync();

    /// <summary>A cheap valid completion; asserts 200 and the process alive.</summary>
    public async Task AssertHealthyAsync()
    {
        Assert.False(Gateway.HasExited, "the gateway process exited:\n" + Gateway.Output);
        const string body = """{"model":"stories","prompt":"Once","max_tokens":2,"temperature":0}""";
        using var ok = await Gateway.Http.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }
}

[CollectionDefinition(Name)]
public sealed class HostileGatewayGroup : ICollectionFixture<HostileGateway>
{
    public const string Name = "hostile gateway";
}
