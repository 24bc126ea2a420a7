using System.Security.Cryptography;

namespace Enclave.Security.Keys;

/// <summary>
/// Loads a 32-byte secret key from an environment variable (base64) or from a file in
/// <c>&lt;data-dir&gt;/secrets/</c> (base64 text, mode 0600, folder 0700), creating the file on first use.
/// Creation is race-free across processes: the key is written to a temporary file and linked into place only if no
/// other process got there first. Thread-safe (stateless).
/// </summary>
internal static class SecretKeyFile
{
    public const int KeyBytes = 32;

    public static string SecretsDirectory(string dataDirectory) => Path.Combine(dataDirectory, "secrets");

    /// <summary>The key from <paramref name="environmentVariable"/> when set, else the file, created if missing.</summary>
    public static byte[] LoadOrCreate(string dataDirectory, string fileName, string environmentVariable)
    {
        return TryLoad(dataDirectory, fileName, environmentVariable) ?? Create(dataDirectory, fileName);
    }

    /// <summary>The key from the environment or the file; null when neither exists. Never creates anything.</summary>
    public static byte[]? TryLoad(string dataDirectory, string fileName, string environmentVariable)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(environmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Decode(fromEnvironment, $"environment variable {environmentVariable}");
        }

        var path = Path.Combine(SecretsDirectory(dataDirectory), fileName);
        return File.Exists(path) ? Decode(File.ReadAllText(path), $"key file '{path}'") : null;
    }

    private static byte[] Create(string dataDirectory, string fileName)
    {
        var directory = SecretsDirectory(dataDirectory);
        CreatePrivateDirectory(directory);
        var path = Path.Combine(directory, fileName);
        var temporary = Path.Combine(directory, $".{fileName}.{Guid.NewGuid():N}.tmp");
        var key = RandomNumberGenerator.GetBytes(KeyBytes);
        try
        {
            WritePrivateFile(temporary, Convert.ToBase64String(key) + "\n");
            try
            {
                // overwrite: false links the file into place and fails if another process created it meanwhile.
                File.Move(temporary, path, overwrite: false);
                return key;
            }
            catch (IOException) when (File.Exists(path))
            {
                return Decode(File.ReadAllText(path), $"key file '{path}'");
            }
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Creates the folder with mode 0700 (tightening an existing one).</summary>
    public static void CreatePrivateDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }

        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>Writes a new file readable by the owner only (0600) and flushes it to disk.</summary>
    public static void WritePrivateFile(string path, string contents)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        stream.Write(System.Text.Encoding.UTF8.GetBytes(contents));
        stream.Flush(flushToDisk: true);
    }

    private static byte[] Decode(string text, string source)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"The {source} is not valid base64. It must hold {KeyBytes} random bytes in base64 (for example from 'openssl rand -base64 32').");
        }

        if (key.Length < KeyBytes)
        {
            throw new InvalidOperationException($"The {source} holds {key.Length} bytes; at least {KeyBytes} are required (for example from 'openssl rand -base64 32').");
        }

        return key;
    }
}
