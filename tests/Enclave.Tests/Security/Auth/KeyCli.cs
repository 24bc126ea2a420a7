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

    public static async Task<(int Code, string Output, string Error)> RunAsync(IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(GatewayProcess.EnclaveExecutable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
