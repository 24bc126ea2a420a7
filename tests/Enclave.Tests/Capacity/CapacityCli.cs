using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Capacity;

/// <summary>Runs a capacity command as a real <c>enclave</c> process, in a temporary working folder.</summary>
internal static class CapacityCli
{
    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "enclave-capacity-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Runs the command with no config file and no data directory of the user's.</summary>
    public static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) =>
        EnclaveCommand.RunAsync(args, new Dictionary<string, string?>
        {
            ["ENCLAVE_HOME"] = Path.Combine(Path.GetTempPath(), "enclave-capacity-empty-home"),
            ["XDG_CONFIG_HOME"] = Path.Combine(Path.GetTempPath(), "enclave-capacity-no-config"),
            ["ENCLAVE_API_KEY"] = null,
        });

    /// <summary>
    /// Runs the command tree in this process (the same entry point as the executable) with stdout and stderr
    /// captured: for input checks that fail before any output, without the cost of starting a process.
    /// Test classes run one at a time, so swapping the console writers is safe here.
    /// </summary>
    public static async Task<(int Code, string Output, string Error)> RunInProcessAsync(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var (oldOut, oldError) = (Console.Out, Console.Error);
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            var code = await Enclave.Cli.EnclaveCli.RunAsync(args);
            return (code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }
    }

    public static JsonElement ReadJson(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    /// <summary>Asserts a usage failure: exit code 2 and exactly one line on stderr naming the command.</summary>
    public static void AssertUsageError((int Code, string Output, string Error) run, string command, string expected)
    {
        Assert.True(run.Code == 2, $"exit {run.Code}; stdout: {run.Output}; stderr: {run.Error}");
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got {lines.Length}: {run.Error}");
        Assert.StartsWith($"enclave {command}: ", lines[0]);
        Assert.Contains(expected, lines[0]);
    }
}
