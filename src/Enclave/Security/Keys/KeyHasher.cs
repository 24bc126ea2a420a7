using System.Security.Cryptography;

namespace Enclave.Security.Keys;

/// <summary>
/// HMAC-SHA256 of key secrets under the hash key (<c>&lt;data-dir&gt;/secrets/key-hash.key</c>, or
/// <c>ENCLAVE_KEY_HASH_KEY</c> in base64). Only these hashes are stored; comparison is constant-time. Thread-safe.
/// </summary>
internal sealed class KeyHasher
{
    public const string FileName = "key-hash.key";
    public const string EnvironmentVariable = "ENCLAVE_KEY_HASH_KEY";

    private readonly byte[] _key;
    private readonly byte[] _dummy;

    public KeyHasher(byte[] key)
    {
        _key = key;
        // Compared against when the id is unknown, so the work done does not reveal whether the id exists.
        _dummy = HMACSHA256.HashData(key, "enclave-unknown-key"u8);
    }

    public static KeyHasher ForDataDirectory(string dataDirectory) =>
        new(SecretKeyFile.LoadOrCreate(dataDirectory, FileName, EnvironmentVariable));

    public byte[] Hash(ReadOnlySpan<byte> secret) => HMACSHA256.HashData(_key, secret);

    /// <summary>True when <paramref name="secret"/> hashes to <paramref name="storedHash"/>; null stored hash compares against a dummy.</summary>
    public bool Matches(ReadOnlySpan<byte> secret, byte[]? storedHash)
    {
        var actual = Hash(secret);
        var expected = storedHash is { Length: 32 } ? storedHash : _dummy;
        return CryptographicOperations.FixedTimeEquals(actual, expected) && storedHash is not null;
    }
}
