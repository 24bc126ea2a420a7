using System.Text.Json;
using System.Text.Json.Serialization;

namespace Enclave.Capacity;

/// <summary>JSON settings shared by the capacity results: snake_case, indented, nulls left out. Thread-safe.</summary>
public static class CapacityJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Compact form for embedding in HTML reports.</summary>
    public static JsonSerializerOptions Compact { get; } = new(Options) { WriteIndented = false };

    public static async Task WriteAsync<T>(string path, T value, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        await using var stream = File.Create(full);
        await JsonSerializer.SerializeAsync(stream, value, Options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a result file written by one of the commands; a missing or malformed file is a usage error.</summary>
    public static async Task<T> ReadAsync<T>(string path, string option, CancellationToken cancellationToken)
    {
        var full = CapacityParse.ExistingFile(path, option);
        try
        {
            await using var stream = File.OpenRead(full);
            return await JsonSerializer.DeserializeAsync<T>(stream, Options, cancellationToken).ConfigureAwait(false)
                ?? throw new CapacityUsageException($"{option} '{path}' is empty.");
        }
        catch (JsonException ex)
        {
            throw new CapacityUsageException($"{option} '{path}' is not a result of the expected kind: {ex.Message}");
        }
    }
}
