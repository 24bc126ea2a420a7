using System.Diagnostics;
using System.Reflection;

namespace Enclave.Bench;

/// <summary>Finds the repository, the enclave executable of this build configuration, and the benchmark model.</summary>
internal static class Locations
{
    public const string DefaultModel = "/tmp/synth/small-q4_0.gguf";

    public static string BuildConfiguration => Metadata("BuildConfiguration") ?? "Release";

    /// <summary>The folder holding Enclave.slnx, found by walking up from this executable.</summary>
    public static string? RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        for (var i = 0; i < 12 && dir is not null; i++, dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Enclave.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    /// <summary>src/Enclave/bin/CONFIG/TFM/enclave, built by the project reference in the same configuration as the bench.</summary>
    public static string Enclave(string? explicitPath)
    {
        if (explicitPath is not null)
        {
            return File.Exists(explicitPath) ? Path.GetFullPath(explicitPath) : throw new BenchException($"--enclave '{explicitPath}' does not exist.");
        }

        var root = RepositoryRoot() ?? throw new BenchException("Cannot find the repository (Enclave.slnx) above " + AppContext.BaseDirectory + "; pass --enclave.");
        var path = Path.Combine(root, "src", "Enclave", "bin", BuildConfiguration, Metadata("TargetFramework") ?? "net10.0", "enclave");
        if (!File.Exists(path))
        {
            throw new BenchException($"{path} does not exist. Build it with: dotnet build -c {BuildConfiguration} src/Enclave (or pass --enclave).");
        }

        if (!Directory.Exists(Path.Combine(Path.GetDirectoryName(path)!, "llama")))
        {
            throw new BenchException($"{path} has no llama/ folder beside it; rebuild src/Enclave.");
        }

        return path;
    }

    /// <summary>Returns the default synthetic model, generating it with shared/tools/make-synthetic-gguf.py when it is missing.</summary>
    public static async Task<string> DefaultModelAsync(TimeSpan timeout, Action<string> progress, CancellationToken cancellationToken)
    {
        if (File.Exists(DefaultModel))
        {
            return DefaultModel;
        }

        var shared = SharedFolder() ?? throw new BenchException(
            $"{DefaultModel} is missing and no shared/ folder with tools/make-synthetic-gguf.py was found; pass --model or set ENCLAVE_SHARED_DIR.");
        progress($"Generating {DefaultModel} with {Path.Combine(shared, "tools", "make-synthetic-gguf.py")} ...");
        Directory.CreateDirectory(Path.GetDirectoryName(DefaultModel)!);
        var info = new ProcessStartInfo("python3") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
        {
            Path.Combine(shared, "tools", "make-synthetic-gguf.py"), "--out", DefaultModel, "--preset", "small", "--type", "q4_0",
            "--vocab-from", Path.Combine(shared, "models", "llama-2-tiny-random.gguf"),
        })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new BenchException("Could not start python3.");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout + await stderr;
        if (process.ExitCode != 0 || !File.Exists(DefaultModel))
        {
            throw new BenchException($"make-synthetic-gguf.py failed with code {process.ExitCode}:\n{output}");
        }

        return DefaultModel;
    }

    private static string? SharedFolder()
    {
        var root = RepositoryRoot();
        var candidates = new[]
        {
            Environment.GetEnvironmentVariable("ENCLAVE_SHARED_DIR"),
            root is null ? null : Path.Combine(root, "shared"),
            root is null ? null : Path.Combine(root, "..", "shared"),
        };
        return candidates
            .Where(c => !string.IsNullOrWhiteSpace(c))
            .Select(c => Path.GetFullPath(c!))
            .FirstOrDefault(c => File.Exists(Path.Combine(c, "tools", "make-synthetic-gguf.py")));
    }

    private static string? Metadata(string key) => typeof(Locations).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == key)?.Value;
}
