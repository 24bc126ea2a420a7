using System.Diagnostics;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Security.Auth;

/// <summary>Runs <c>enclave keys ...</c> against a data directory, as an operator would.</summary>
internal static class KeyCli
{
    public static async Task<(string Id, string Key)> CreateAsync(string dataDir, string name, params string[] extra)
    {
        var (code, output, error) = await RunAsync(["keys", "create", "--name", name, "--json", "--data-dir", dataDir, .. extra]);
        Assert.True(code == 0, $"keys create failed ({code}): {error}");
        var json = JsonDocument.Parse(output).RootElement;
        return (json.GetProperty("id").GetString()!, json.GetProperty("key").GetString()!);
    }

    /// <summary>The secret part of <c>enc_&lt;id&gt;_&lt;secret&gt;</c> (the secret itself may contain '_').</summary>
    public static string SecretOf(string key) => key[(key.IndexOf('_', "enc_".Length) + 1)..];

    public static Task<(int Code, string Output, string Error)> RunAsync(IEnumerable<string> args) => EnclaveCommand.RunAsync(args);
}
