using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Enclave.Storage;
using Microsoft.Data.Sqlite;

namespace Enclave.Security.Audit;

/// <summary>
/// The chain arithmetic and the <c>audit_log</c> table: <c>hash_i = HMAC-SHA256(k, seq_i ‖ prev_hash ‖
/// canonical(record_i))</c> with seq as 8 bytes big-endian, prev_hash as 32 raw bytes (genesis: zeros), and canonical
/// the fields at, action, actor, outcome, target, request_id, remote_address, then the details sorted by key (ordinal),
/// each string as 0x00 (null) or 0x01 + 4-byte big-endian length + UTF-8. Thread-safe (stateless).
/// </summary>
internal static partial class AuditChain
{
    public static readonly string GenesisHash = new('0', 64);

    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new("audit-001", """
            CREATE TABLE IF NOT EXISTS audit_log (
                seq            INTEGER PRIMARY KEY,
                at             TEXT NOT NULL,
                action         TEXT NOT NULL,
                actor          TEXT NOT NULL,
                outcome        TEXT NOT NULL,
                target         TEXT,
                request_id     TEXT,
                remote_address TEXT,
                details_json   TEXT,
                prev_hash      TEXT NOT NULL,
                hash           TEXT NOT NULL
            );
            """),
    ];

    public const string Columns = "seq, at, action, actor, outcome, target, request_id, remote_address, details_json, prev_hash, hash";

    /// <summary>Replaces anything shaped like a full API key with its public id, so a careless caller cannot store a secret.</summary>
    public static string? Scrub(string? value) => value is null ? null : KeyPattern().Replace(value, m => m.Value[..17] + "[redacted]");

    [GeneratedRegex("enc_[a-z0-9]{12}_[A-Za-z0-9_-]{43}", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();

    /// <summary>Details as a JSON object with keys in ordinal order; null when there are none.</summary>
    public static string? DetailsToJson(IReadOnlyDictionary<string, string>? details)
    {
        if (details is null || details.Count == 0)
        {
            return null;
        }

        var sorted = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in details)
        {
            sorted[key] = Scrub(value)!;
        }

        return JsonSerializer.Serialize(sorted);
    }

    /// <summary>The details of a stored row; throws <see cref="JsonException"/> when the column is not a string map.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ParseDetails(string? json)
    {
        if (json is null)
        {
            return [];
        }

        var map = JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? throw new JsonException("details_json is null");
        return [.. map.OrderBy(p => p.Key, StringComparer.Ordinal)];
    }

    public static string ComputeHash(byte[] key, AuditRecord record)
    {
        var buffer = new List<byte>(256);
        Span<byte> seq = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(seq, record.Seq);
        buffer.AddRange(seq);
        buffer.AddRange(Convert.FromHexString(record.PrevHash));
        foreach (var field in new[] { record.At, record.Action, record.Actor, record.Outcome, record.Target, record.RequestId, record.RemoteAddress })
        {
            Append(buffer, field);
        }

        var details = ParseDetails(record.DetailsJson);
        Span<byte> count = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(count, details.Count);
        buffer.AddRange(count);
        foreach (var (name, value) in details)
        {
            Append(buffer, name);
            Append(buffer, value);
        }

        return Convert.ToHexStringLower(HMACSHA256.HashData(key, buffer.ToArray()));
    }

    public static AuditRecord Read(SqliteDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3),
        reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetString(5),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.IsDBNull(7) ? null : reader.GetString(7),
        reader.IsDBNull(8) ? null : reader.GetString(8),
        reader.GetString(9),
        reader.GetString(10));

    private static void Append(List<byte> buffer, string? value)
    {
        if (value is null)
        {
            buffer.Add(0);
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        buffer.Add(1);
        buffer.AddRange(length);
        buffer.AddRange(bytes);
    }
}
