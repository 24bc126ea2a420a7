using System.CommandLine;
using System.Diagnostics;
using Enclave.Engine;
using Enclave.Worker;

namespace Enclave.Cli;

/// <summary><c>enclave worker</c>: started by <c>enclave serve</c> for one model; not meant to be run by hand.</summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Required = true, Description = "Public model name." };
        var socket = new Option<string>("--socket") { Required = true, Description = "Unix domain socket to listen on." };
        var path = new Option<string>("--model-path") { Required = true, Description = "GGUF file." };
        var slots = new Option<int>("--slots") { Description = "Concurrent sequences (0 = default)." };
        var ctx = new Option<int>("--ctx-size") { Description = "Tokens per sequence (0 = from the model)." };
        var threads = new Option<int>("--threads") { Description = "CPU threads (0 = from the machine)." };
        var batch = new Option<int>("--batch-size") { Description = "Tokens per llama_decode.", DefaultValueFactory = _ => 512 };
        var chunk = new Option<int>("--prefill-chunk") { Description = "Prompt tokens per sequence per step.", DefaultValueFactory = _ => 256 };
        var queue = new Option<int>("--queue") { Description = "Admission queue capacity.", DefaultValueFactory = _ => 64 };
        var maxTokens = new Option<int>("--max-tokens-limit") { Description = "Cap on max_tokens (0 = context)." };
        var parent = new Option<int>("--parent-pid") { Description = "Exit when this process ends." };
        var command = new Command("worker", "Run one model in a worker process (started by 'enclave serve').")
        {
            name, socket, path, slots, ctx, threads, batch, chunk, queue, maxTokens, parent,
        };
        command.Hidden = true;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new EngineOptions
            {
                Path = parse.GetValue(path)!,
                Slots = parse.GetValue(slots),
                ContextSize = parse.GetValue(ctx),
                Threads = parse.GetValue(threads),
                BatchSize = parse.GetValue(batch),
                PrefillChunk = parse.GetValue(chunk),
                QueueCapacity = parse.GetValue(queue),
                MaxTokensLimit = parse.GetValue(maxTokens),
            };
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var parentPid = parse.GetValue(parent);
            if (parentPid > 0)
            {
                _ = WatchParentAsync(parentPid, stop);
            }

            return await WorkerHost.RunAsync(parse.GetValue(name)!, parse.GetValue(socket)!, options, stop.Token);
        });
        return command;
    }

    // A worker must never outlive its gateway, even one killed with SIGKILL.
    private static async Task WatchParentAsync(int pid, CancellationTokenSource stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
        {
            if (!IsAlive(pid))
            {
                await stop.CancelAsync().ConfigureAwait(false);
                Environment.Exit(0);
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
