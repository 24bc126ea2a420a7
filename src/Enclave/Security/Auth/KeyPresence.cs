using Enclave.Security.Keys;

namespace Enclave.Security.Auth;

/// <summary>
/// Whether any key exists, cached for at most 500 ms so a key created by the CLI ends anonymous access on a
/// running gateway within a second. Once true it stays true (keys are revoked, never deleted). Thread-safe.
/// </summary>
public sealed class KeyPresence(IApiKeyStore store, TimeProvider time)
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromMilliseconds(500);
    private volatile bool _any;
    private long _checkedAt = long.MinValue;

    public async ValueTask<bool> AnyAsync(CancellationToken cancellationToken)
    {
        if (_any)
        {
            return true;
        }

        var last = Interlocked.Read(ref _checkedAt);
        if (last != long.MinValue && time.GetElapsedTime(last) < MaxAge)
        {
            return false;
        }

        _any = await store.AnyAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _checkedAt, time.GetTimestamp());
        return _any;
    }
}
