namespace Enclave.Tests.Infrastructure;

/// <summary>One gateway for the read-only API tests: a chat model, a completion model, a second decoder and an encoder.</summary>
public sealed class SharedGateway : IAsyncLifetime
{
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Gateway = await GatewayProcess.StartAsync(
        [
            new ModelSpec("chat", TestModels.StoriesChat),
            new ModelSpec("stories", TestModels.Stories, new Dictionary<string, string> { ["Slots"] = "8", ["ContextSize"] = "512" }),
            new ModelSpec("tiny", TestModels.TinyLlama, new Dictionary<string, string> { ["ContextSize"] = "128" }),
            new ModelSpec("bert", TestModels.Bert),
        ]);
    }

    public async Task DisposeAsync() => await Gateway.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class SharedGatewayGroup : ICollectionFixture<SharedGateway>
{
    public const string Name = "shared gateway";
}
