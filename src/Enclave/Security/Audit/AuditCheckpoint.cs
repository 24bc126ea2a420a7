using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Enclave.Security.Keys;

namespace Enclave.Security.Audit;

/// <summary>
/// The head checkpoint <c>&lt;data-dir&gt;/secrets/audit.head</c>: <c>{"seq","hash","mac"}</c> with
/// <c>mac = HMAC(k, "enclave-audit-head-v1" ‖ seq ‖ hash)</c>. It only moves forward: writers take an exclusive lock
/// file, skip when the stored head is already at or past theirs, and replace the file atomically (temp file + rename).
/// Thread-safe and safe across processes.
/// </summary>
internal static class AuditCheckpoint
{
    private static readonly byte[] Domain = "enclave-audit-head-v1"u8.ToArray();

    /// <summary>A checkpoint read back: <see cref="Valid"/> is false when the file is unreadable or its MAC is wrong.</summary>
    public sealed record Head(long Seq, string Hash, bool Valid);

    public static void Advance(string path, byte[] key, long seq, string hash)
    {
        var directory = Path.GetDirectoryName(path)!;
        SecretKeyFile.CreatePrivateDirectory(directory);
        using var gate = AcquireLock(path + ".lock");
        if (TryRead(path, key) is { Valid: true } current && current.Seq >= seq)
        {
            return;
        }

        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["seq"] = seq,
            ["hash"] = hash,
            ["mac"] = Mac(key, seq, hash),
        });
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            SecretKeyFile.WritePrivateFile(temporary, body);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Null when there is no checkpoint file.</summary>
    public static Head? TryRead(string path, byte[] key)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            var seq = root.GetProperty("seq").GetInt64();
            var hash = root.GetProperty("hash").GetString() ?? "";
            var mac = root.GetProperty("mac").GetString() ?? "";
            var expected = Mac(key, seq, hash);
            var valid = CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(mac), Encoding.ASCII.GetBytes(expected));
            return new Head(seq, hash, valid);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            return new Head(0, "", Valid: false);
        }
    }

    private static string Mac(byte[] key, long seq, string hash)
    {
        var hashBytes = Encoding.UTF8.GetBytes(hash);
        var input = new byte[Domain.Length + 8 + hashBytes.Length];
        Domain.CopyTo(input, 0);
        BinaryPrimitives.WriteInt64BigEndian(input.AsSpan(Domain.Length), seq);
        hashBytes.CopyTo(input, Domain.Length + 8);
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, input));
    }

    private static FileStream AcquireLock(string lockPath)
    {
        // FileShare.None is an exclusive advisory lock on Unix (flock) and a sharing lock on Windows, across
        // processes and within one; retry briefly while another writer holds it.
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(lockPath, options);
            }
            catch (IOException) when (attempt < 3000)
            {
                Thread.Sleep(2);
            }
        }
    }
}
