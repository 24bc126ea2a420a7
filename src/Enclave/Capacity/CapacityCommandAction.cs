using System.CommandLine;
using System.CommandLine.Invocation;
using Enclave.Hosting;

namespace Enclave.Capacity;

/// <summary>
/// The action behind <c>enclave bench</c>, <c>plan</c> and <c>cost</c>. It takes over parse errors (a value that is
/// not a number, an unknown option) so that every piece of bad input ends the same way: one line on stderr naming
/// the problem, exit code 2. Failures of the run itself exit with 1; Ctrl+C with 130.
/// </summary>
internal sealed class CapacityCommandAction(string name, Func<ParseResult, CancellationToken, Task<int>> run) : AsynchronousCommandLineAction
{
    public const int UsageError = 2;

    public override bool ClearsParseErrors => true;

    public override async Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        if (parseResult.Errors.Count > 0)
        {
            return Usage(parseResult.Errors[0].Message);
        }

        if (parseResult.UnmatchedTokens.Count > 0)
        {
            return Usage($"unexpected '{parseResult.UnmatchedTokens[0]}'. See 'enclave {name} --help'.");
        }

        try
        {
            return await run(parseResult, cancellationToken);
        }
        catch (CapacityUsageException ex)
        {
            return Usage(ex.Message);
        }
        catch (ConfigurationException ex)
        {
            return Usage(ex.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"enclave {name}: cancelled");
            return 130;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or Microsoft.Data.Sqlite.SqliteException)
        {
            await Console.Error.WriteLineAsync($"enclave {name}: {OneLine(ex.Message)}");
            return 1;
        }
    }

    private int Usage(string message)
    {
        Console.Error.WriteLine($"enclave {name}: {OneLine(message)}");
        return UsageError;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
