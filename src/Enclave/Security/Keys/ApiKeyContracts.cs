namespace Enclave.Security.Keys;

/// <summary>The scopes a key can hold. A route declares the one it needs.</summary>
public static class Scopes
{
    public const string Inference = "inference";
    public const string Embeddings = "embeddings";
    public const string Models = "models";
    public const string Admin = "admin";

    public static IReadOnlyList<string> All { get; } = [Inference, Embeddings, Models, Admin];

    /// <summary>What a key gets when <c>--scopes</c> is not given: everything but admin.</summary>
    public static IReadOnlyList<string> Default { get; } = [Inference, Embeddings, Models];
}

/// <summary>Window of a token budget.</summary>
public enum BudgetPeriod
{
    Day,
    Month,
}

/// <summary>
/// A stored API key, without its secret (only a keyed hash is stored). <see cref="Models"/> are globs
/// (<c>*</c>, <c>?</c>) over public model names. Null limits mean unlimited. Immutable.
/// </summary>
public sealed record ApiKeyRecord
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public IReadOnlyList<string> Models { get; init; } = ["*"];

    public IReadOnlyList<string> Scopes { get; init; } = Keys.Scopes.Default;

    public int? RequestsPerMinute { get; init; }

    public int? TokensPerMinute { get; init; }

    public int? Concurrency { get; init; }

    public long? TokenBudget { get; init; }

    public BudgetPeriod? BudgetPeriod { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    public DateTimeOffset? RevokedAt { get; init; }

    public bool HasScope(string scope) => Scopes.Contains(scope, StringComparer.Ordinal);
}

/// <summary>What <c>enclave keys create</c> and <c>POST /admin/keys</c> ask for.</summary>
public sealed record CreateKeyRequest
{
    public required string Name { get; init; }

    public IReadOnlyList<string>? Models { get; init; }

    public IReadOnlyList<string>? Scopes { get; init; }

    public int? RequestsPerMinute { get; init; }

    public int? TokensPerMinute { get; init; }

    public int? Concurrency { get; init; }

    public long? TokenBudget { get; init; }

    public BudgetPeriod? BudgetPeriod { get; init; }

    /// <summary>Lifetime from creation; null never expires.</summary>
    public TimeSpan? ExpiresAfter { get; init; }
}

/// <summary>A key just created or rotated: the only moment its secret exists in clear.</summary>
public sealed record IssuedKey(ApiKeyRecord Key, string Secret);

/// <summary>
/// Durable key storage. Secrets are never stored or logged; only a keyed hash is kept and compared in constant
/// time. Changes made by any process (CLI or admin API) are seen by a running gateway within one second.
/// Thread-safe.
/// </summary>
public interface IApiKeyStore
{
    Task<IssuedKey> CreateAsync(CreateKeyRequest request, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken);

    Task<ApiKeyRecord?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>False when no such key exists (or it was already revoked).</summary>
    Task<bool> RevokeAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Issues a new secret for the same key settings under a new id; the old key stays valid for
    /// <paramref name="grace"/> and then expires. Null when no such active key exists.
    /// </summary>
    Task<IssuedKey?> RotateAsync(string id, TimeSpan grace, CancellationToken cancellationToken);

    /// <summary>The active key a presented secret belongs to; null for unknown, malformed, revoked or expired keys.</summary>
    Task<ApiKeyRecord?> AuthenticateAsync(string presentedSecret, CancellationToken cancellationToken);

    /// <summary>True when at least one key exists in the store (active or not): then keys are required.</summary>
    Task<bool> AnyAsync(CancellationToken cancellationToken);
}
