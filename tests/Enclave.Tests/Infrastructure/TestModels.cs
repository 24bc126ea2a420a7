namespace Enclave.Tests.Infrastructure;

/// <summary>
/// The real GGUF test models: ENCLAVE_TEST_MODELS, else a shared/models folder found above the test binaries.
/// A run without them fails loudly; nothing is skipped.
/// </summary>
public static class TestModels
{
    private static readonly Lazy<string> Folder = new(Resolve);

    public static string Directory => Folder.Value;

    public static string Stories => Path.Combine(Directory, "stories260K.gguf");

    public static string StoriesChat => Path.Combine(Directory, "stories260K-chatml.gguf");

    public static string TinyLlama => Path.Combine(Directory, "llama-2-tiny-random.gguf");

    public static string Bert => Path.Combine(Directory, "synthetic-bow-bert-128d-f16.gguf");

    private static readonly SemaphoreSlim SynthLock = new(1, 1);

    /// <summary>
    /// A realistic-size chat model (the <c>small</c> preset, 76M parameters, q4_0, with the ChatML vocabulary of
    /// stories260K-chatml) made once per machine by shared/tools/make-synthetic-gguf.py: about 300 tokens/s on one
    /// thread here, so streams last long enough to be interrupted on purpose. It never stops early.
    /// </summary>
    public static async Task<string> SyntheticChatAsync()
    {
        var output = Path.Combine(Path.GetTempPath(), "enclave-test-models", "small-chatml-q4_0.gguf");
        await SynthLock.WaitAsync();
        try
        {
            if (File.Exists(output))
            {
                return output;
            }

            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(output)!);
            var script = Path.GetFullPath(Path.Combine(Directory, "..", "tools", "make-synthetic-gguf.py"));
            Assert.True(File.Exists(script), $"{script} not found: the shared folder's tools are needed to make the synthetic model.");
            var info = new System.Diagnostics.ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { script, "--out", output + ".tmp", "--preset", "small", "--type", "q4_0", "--vocab-from", StoriesChat })
            {
                info.ArgumentList.Add(arg);
            }

            using var process = System.Diagnostics.Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, "make-synthetic-gguf.py failed: " + await stderr);
            File.Move(output + ".tmp", output, overwrite: true);
            return output;
        }
        finally
        {
            SynthLock.Release();
        }
    }

    private static string Resolve()
    {
        var configured = Environment.GetEnvironmentVariable("ENCLAVE_TEST_MODELS");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(Path.Combine(configured, "stories260K.gguf"))
                ? Path.GetFullPath(configured)
                : throw new InvalidOperationException($"ENCLAVE_TEST_MODELS='{configured}' does not hold stories260K.gguf; point it at the shared models folder.");
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "models");
            if (File.Exists(Path.Combine(candidate, "stories260K.gguf")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("Test models not found. Set ENCLAVE_TEST_MODELS to the folder holding stories260K.gguf (the shared/models folder).");
    }
}
