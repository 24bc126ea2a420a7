using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Backends.Remote;

/// <summary>
/// One wall and one gateway shared by the tests of a class that need no special settings: backend <c>primary</c>
/// serves <see cref="Models"/> under their own names, and route <c>chat</c> goes to its <c>upstream-llm</c>. The
/// wall's record grows across the class's tests (they run one at a time), so tests look at the requests they caused.
/// </summary>
public sealed class WallGatewayFixture : IAsyncLifetime
{
    public static readonly string[] Models = ["ok", "upstream-llm", "text-llm", "embedder", "no-usage"];

    public FaultUpstream Wall { get; private set; } = null!;

    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Wall = await FaultUpstream.StartAsync("primary", Models);
        Gateway = await new RemoteSetup().Backend("primary", Wall, Models).Route("chat", [("primary", "upstream-llm")]).StartAsync([.. Models, "chat"]);
    }

    public async Task DisposeAsync()
    {
        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
        }

        if (Wall is not null)
        {
            await Wall.DisposeAsync();
        }
    }
}
