using Enclave.Security.Keys;

namespace Enclave.Security.Audit;

/// <summary>
/// Where the audit chain's HMAC key lives, apart from the database: <c>ENCLAVE_AUDIT_KEY</c> (base64, at least 32
/// bytes) when set, else <c>&lt;data-dir&gt;/secrets/audit.key</c> (mode 0600, created on first append). The head
/// checkpoint is <c>&lt;data-dir&gt;/secrets/audit.head</c>. Thread-safe (stateless).
/// </summary>
public static class AuditKey
{
    public const string EnvironmentVariable = "ENCLAVE_AUDIT_KEY";
    public const string FileName = "audit.key";
    public const string CheckpointFileName = "audit.head";

    public static string KeyPath(string dataDirectory) => Path.Combine(SecretKeyFile.SecretsDirectory(dataDirectory), FileName);

    public static string CheckpointPath(string dataDirectory) => Path.Combine(SecretKeyFile.SecretsDirectory(dataDirectory), CheckpointFileName);

    internal static byte[] LoadOrCreate(string dataDirectory) => SecretKeyFile.LoadOrCreate(dataDirectory, FileName, EnvironmentVariable);

    internal static byte[]? TryLoad(string dataDirectory) => SecretKeyFile.TryLoad(dataDirectory, FileName, EnvironmentVariable);
}
