using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Hostile.Faults;

/// <summary>
/// One gateway for the client-side fault rows (F15–F17): the realistic-size synthetic chat model with one slot, one
/// queue place and prefill in chunks of 8 tokens (so a long prompt prefills over many decode steps), and the
/// default <c>Limits</c> (240 B/s minimum response rate, 5 s grace, 64 KiB buffers). Tests wait for an idle engine
/// first and leave it idle.
/// </summary>
public sealed class OneSlotGateway : IAsyncLifetime
{
    public const string Model = "synth";

    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var path = await TestModels.SyntheticChatAsync();
        Gateway = await GatewayProcess.StartAsync(
            [new ModelSpec(Model, path, new Dictionary<string, string> { ["Slots"] = "1", ["QueueCapacity"] = "1", ["PrefillChunk"] = "8", ["ContextSize"] = "2048" })]);
    }

    public async Task DisposeAsync() => await Gateway.DisposeAsync();

    /// <summary>Waits until no request holds or waits for the slot; returns the engine's counters then.</summary>
    public async Task<EngineLoad> IdleAsync() =>
        (await FaultProbe.WaitEngineAsync(Gateway, Model, l => l.Active == 0 && l.Queued == 0, TimeSpan.FromSeconds(30), "engine idle")).Load;

    /// <summary>A long greedy stream (the synthetic model never stops early under greedy decoding).</summary>
    public static object LongStream(string prompt = "Once upon a time", int maxTokens = 1900) =>
        new { model = Model, prompt, max_tokens = maxTokens, temperature = 0, stream = true };
}

[CollectionDefinition(Name)]
public sealed class OneSlotGatewayGroup : ICollectionFixture<OneSlotGateway>
{
    public const string Name = "one-slot fault gateway";
}
