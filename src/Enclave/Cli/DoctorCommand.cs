using System.CommandLine;
using Enclave.Native;
using Spectre.Console;

namespace Enclave.Cli;

/// <summary><c>enclave doctor</c>: which native library and backend this machine uses, and what is wrong if anything.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var command = new Command("doctor", "Check the native llama.cpp library, CPU features and backend.");
        command.SetAction(_ => Run());
        return command;
    }

    private static int Run()
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("check").AddColumn("result");
        table.AddRow("library folder", Markup.Escape(LlamaLibrary.ResolveDirectory()));
        table.AddRow("override", Markup.Escape(Environment.GetEnvironmentVariable(LlamaLibrary.LibDirVariable) ?? $"({LlamaLibrary.LibDirVariable} not set: bundled build)"));
        table.AddRow("processors", Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            var info = LlamaLibrary.Initialize();
            table.AddRow("libllama", Markup.Escape(info.LlamaPath));
            table.AddRow("llama.cpp release", Markup.Escape(info.Release ?? "unknown"));
            table.AddRow("backends", Markup.Escape(string.Join(", ", info.Backends)));
            table.AddRow("cpu backend", Markup.Escape(info.CpuVariant ?? "unknown"));
            table.AddRow("cpu features", Markup.Escape(info.SystemInfo));
            table.AddRow("struct layout", "[green]ok[/]");
            table.AddRow("status", "[green]ready[/]");
            AnsiConsole.Write(table);
            return 0;
        }
        catch (LlamaException ex)
        {
            table.AddRow("status", "[red]problem[/]");
            table.AddRow("what is wrong", Markup.Escape(ex.Message));
            AnsiConsole.Write(table);
            Console.Error.WriteLine($"enclave doctor: {ex.Message}");
            return 1;
        }
    }
}
