using System.CommandLine;

namespace Enclave.Cli;

/// <summary>The <c>enclave</c> command tree. Every command answers <c>--help</c>.</summary>
public static class EnclaveCli
{
    public static Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("Enclave: a self-hosted AI gateway that serves GGUF models through llama.cpp behind an OpenAI-compatible API.");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(WorkerCommand.Create());
        root.Subcommands.Add(ModelsCommand.Create());
        root.Subcommands.Add(DoctorCommand.Create());
        root.Subcommands.Add(KeysCommand.Create());
        root.Subcommands.Add(AuditCommand.Create());
        root.Subcommands.Add(UsageCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(PlanCommand.Create());
        root.Subcommands.Add(CostCommand.Create());
        return root.Parse(args).InvokeAsync();
    }
}
