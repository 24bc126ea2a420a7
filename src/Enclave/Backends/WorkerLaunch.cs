using System.Diagnostics;
using Enclave.Engine;

namespace Enclave.Backends;

/// <summary>Builds the command line that starts <c>enclave worker</c> for one model from this same executable.</summary>
internal static class WorkerLaunch
{
    public static ProcessStartInfo Create(string name, string socketPath, EngineOptions options, Api.ApiLimits limits)
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot find the enclave executable to start a worker.");
        var info = new ProcessStartInfo { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            // Started as `dotnet enclave.dll`: start the worker the same way.
            info.FileName = processPath;
            info.ArgumentList.Add(typeof(WorkerLaunch).Assembly.Location);
        }
        else
        {
            info.FileName = processPath;
        }

        string[] args =
        [
            "worker",
            "--name", name,
            "--socket", socketPath,
            "--model-path", options.Path,
            "--slots", options.Slots.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--ctx-size", options.ContextSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--threads", options.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--batch-size", options.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--prefill-chunk", options.PrefillChunk.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--queue", options.QueueCapacity.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--max-tokens-limit", options.MaxTokensLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--parent-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        // The worker validates request fields, so it must apply the same limits as the gateway.
        foreach (var property in typeof(Api.ApiLimits).GetProperties())
        {
            info.Environment[$"{Hosting.EnclaveConfiguration.EnvironmentPrefix}Limits__{property.Name}"] =
                Convert.ToString(property.GetValue(limits), System.Globalization.CultureInfo.InvariantCulture);
        }

        return info;
    }
}
