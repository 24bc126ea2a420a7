using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Enclave.Security.Keys;

/// <summary>
/// The wire form of an API key, <c>enc_&lt;id&gt;_&lt;secret&gt;</c>: a 12-character lowercase alphanumeric id
/// (public, safe to log) and 32 random bytes in base64url without padding (43 characters). Parsing is strict: any
/// other shape is rejected. Thread-safe (stateless).
/// </summary>
internal static class ApiKeySecret
{
    public const string Prefix = "enc_";
    public const int IdLength = 12;
    public const int SecretBytes = 32;
    public const int SecretLength = 43;
    public const int Length = 4 + IdLength + 1 + SecretLength;
    private const string IdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    public static string NewId() => RandomNumberGenerator.GetString(IdAlphabet, IdLength);

    public static byte[] NewSecret() => RandomNumberGenerator.GetBytes(SecretBytes);

    public static string Format(string id, ReadOnlySpan<byte> secret) => $"{Prefix}{id}_{Base64Url.EncodeToString(secret)}";

    public static bool IsValidId(string? id)
    {
        if (id is null || id.Length != IdLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Splits a presented key into id and secret bytes; false for anything not in canonical form.</summary>
    public static bool TryParse(string? presented, out string id, out byte[] secret)
    {
        id = "";
        secret = [];
        if (presented is null || presented.Length != Length || !presented.StartsWith(Prefix, StringComparison.Ordinal)
            || presented[Prefix.Length + IdLength] != '_')
        {
            return false;
        }

        var candidateId = presented.Substring(Prefix.Length, IdLength);
        if (!IsValidId(candidateId))
        {
            return false;
        }

        var encoded = presented.AsSpan(Prefix.Length + IdLength + 1);
        var bytes = new byte[SecretBytes];
        // The OperationStatus overload reports bad characters instead of throwing.
        if (Base64Url.DecodeFromChars(encoded, bytes, out var consumed, out var written) != OperationStatus.Done
            || consumed != SecretLength || written != SecretBytes)
        {
            return false;
        }

        // Reject non-canonical encodings (unused trailing bits set), so one secret has exactly one spelling.
        Span<char> canonical = stackalloc char[SecretLength];
        if (!Base64Url.TryEncodeToChars(bytes, canonical, out var length) || !canonical[..length].SequenceEqual(encoded))
        {
            return false;
        }

        id = candidateId;
        secret = bytes;
        return true;
    }
}
