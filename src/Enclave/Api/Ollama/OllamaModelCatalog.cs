using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Enclave.Native.Gguf;

namespace Enclave.Api.Ollama;

/// <summary>
/// What Ollama's model endpoints report about a GGUF file: its metadata (read with the managed GGUF reader, never
/// by llama.cpp) and its sha256 digest. Both are computed once per file version (path, size and modification
/// time) and cached; a digest is computed once however many requests ask for it at the same time. Thread-safe.
/// </summary>
internal sealed class OllamaModelCatalog
{
    private readonly ConcurrentDictionary<FileVersion, Lazy<GgufFile?>> _files = new();
    private readonly ConcurrentDictionary<FileVersion, Lazy<Task<string>>> _digests = new();

    /// <summary>The file's metadata, or null when it cannot be read as GGUF (its worker will not start either).</summary>
    public GgufFile? Read(string path)
    {
        var version = FileVersion.Of(path);
        return version is null ? null : _files.GetOrAdd(version.Value, v => new Lazy<GgufFile?>(() => TryRead(v.Path))).Value;
    }

    /// <summary>The lowercase hex sha256 of the file's bytes. Hashing continues for later callers if this one cancels.</summary>
    public async Task<string> DigestAsync(string path, CancellationToken cancellationToken)
    {
        var version = FileVersion.Of(path) ?? throw new FileNotFoundException("The model file is missing.", path);
        var digest = _digests.GetOrAdd(version, v => new Lazy<Task<string>>(() => HashAsync(v.Path)));
        try
        {
            return await digest.Value.WaitAsync(cancellationToken);
        }
        catch (IOException)
        {
            // A read failure is not cached: the next request tries again.
            _digests.TryRemove(new KeyValuePair<FileVersion, Lazy<Task<string>>>(version, digest));
            throw;
        }
    }

    /// <summary>The file's modification time, as <c>modified_at</c>.</summary>
    public static DateTimeOffset ModifiedAt(string path) => new(File.GetLastWriteTimeUtc(path));

    /// <summary>
    /// Writes Ollama's <c>details</c> object: from the GGUF file of a local model, or empty strings for what is not
    /// known (a model served by a remote backend, whose file the gateway never sees).
    /// </summary>
    public static void WriteDetails(Utf8JsonWriter w, GgufFile? file, bool local)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WriteStartObject("details");
        w.WriteString("parent_model", "");
        w.WriteString("format", local ? "gguf" : "");
        w.WriteString("family", file?.Info.Architecture ?? "");
        w.WriteStartArray("families");
        if (file is not null)
        {
            w.WriteStringValue(file.Info.Architecture);
        }

        w.WriteEndArray();
        w.WriteString("parameter_size", file is null ? "" : OllamaWire.ParameterSize(file.Info.ParameterCount));
        w.WriteString("quantization_level", file?.Info.Quantization ?? "");
        w.WriteEndObject();
    }

    /// <summary>Ollama's capability rule: a model whose metadata has a pooling type is an embedding model.</summary>
    public static string Capability(GgufFile? file) => file?.Info.PoolingType is null ? "completion" : "embedding";

    private static GgufFile? TryRead(string path)
    {
        try
        {
            return GgufReader.Read(path);
        }
        catch (Exception ex) when (ex is InvalidModelFileException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static async Task<string> HashAsync(string path)
    {
        // Off the request's thread and its token: a multi-gigabyte file takes seconds and the result is shared.
        await Task.Yield();
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var hash = await SHA256.HashDataAsync(stream, CancellationToken.None);
        return Convert.ToHexStringLower(hash);
    }

    private readonly record struct FileVersion(string Path, long Length, DateTime Modified)
    {
        public static FileVersion? Of(string path)
        {
            var info = new FileInfo(path);
            return info.Exists ? new FileVersion(info.FullName, info.Length, info.LastWriteTimeUtc) : null;
        }
    }
}
