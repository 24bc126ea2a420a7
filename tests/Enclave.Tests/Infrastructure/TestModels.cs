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
