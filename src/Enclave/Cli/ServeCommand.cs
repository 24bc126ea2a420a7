using System.CommandLine;
using Enclave.Hosting;
using Microsoft.Extensions.Options;

namespace Enclave.Cli;

/// <summary><c>enclave serve</c>: runs the gateway and one supervised worker per local model.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "Path to enclave.json (default: ./enclave.json, then $XDG_CONFIG_HOME/enclave/enclave.json)." };
        var urls = new Option<string?>("--urls") { Description = $"Listen URLs, separated by ';' (default {ServerOptions.DefaultUrls})." };
        var models = new Option<string[]>("--model") { Description = "Serve a GGUF file under a name: NAME=PATH. Repeatable.", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var backends = new Option<string[]>("--backend") { Description = "Route to an OpenAI-compatible server whose models are discovered from URL/models: NAME=URL (e.g. gpu1=http://10.0.0.5:8000/v1). Repeatable.", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var dataDir = new Option<string?>("--data-dir") { Description = "Data directory (default: $ENCLAVE_HOME, else $XDG_DATA_HOME/enclave)." };
        var command = new Command("serve", "Serve models behind the OpenAI-compatible API.") { config, urls, models, backends, dataDir };
        // A synchronous action on purpose: System.CommandLine gives an asynchronous one 2 s after SIGTERM and then ends
        // the process with exit code 143, cutting the drain short. The host's console lifetime handles SIGTERM instead:
        // it drains (Server:ShutdownTimeoutSeconds), stops the workers, flushes the ledger, and RunAsync returns.
        command.SetAction(parse => ServeAsync(parse).GetAwaiter().GetResult());
        return command;

        async Task<int> ServeAsync(ParseResult parse)
        {
            try
            {
                var configuration = EnclaveConfiguration.Build(parse.GetValue(config), parse.GetValue(urls), parse.GetValue(models) ?? [], parse.GetValue(dataDir), parse.GetValue(backends) ?? []);
                await using var app = GatewayHost.Build(configuration);
                await GatewayHost.PrepareAsync(app, CancellationToken.None);
                await app.RunAsync();
                return 0;
            }
            catch (ConfigurationException ex)
            {
                await Console.Error.WriteLineAsync($"enclave: invalid configuration: {ex.Message}");
                return 2;
            }
            catch (OptionsValidationException ex)
            {
                foreach (var failure in ex.Failures)
                {
                    await Console.Error.WriteLineAsync($"enclave: invalid configuration: {failure}");
                }

                return 2;
            }
            catch (IOException ex) when (ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await Console.Error.WriteLineAsync($"enclave: cannot listen: {ex.Message}. Choose another address with --urls.");
                return 2;
            }
        }
    }
}
