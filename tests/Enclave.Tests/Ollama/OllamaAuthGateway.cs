using Enclave.Tests.Infrastructure;
using Enclave.Tests.Security.Auth;

namespace Enclave.Tests.Ollama;

/// <summary>One gateway for the auth tests, with a key per scope and one limited to the <c>stor*</c> models.</summary>
public sealed class OllamaAuthGateway : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "enclave-ollama-auth-" + Guid.NewGuid().ToString("N"));

    public GatewayProcess Gateway { get; private set; } = null!;

    public Dictionary<string, string> Keys { get; } = [];

    public async Task InitializeAsync()
    {
        foreach (var scope in new[] { "inference", "embeddings", "models" })
        {
            Keys[scope] = (await KeyCli.CreateAsync(_dataDir, scope, "--scopes", scope)).Key;
        }

        Keys["stories-only"] = (await KeyCli.CreateAsync(_dataDir, "stories-only", "--scopes", "inference,embeddings,models", "--models", "stor*")).Key;
        Gateway = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories), new ModelSpec("bert", TestModels.Bert)], dataDir: _dataDir);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }
}
