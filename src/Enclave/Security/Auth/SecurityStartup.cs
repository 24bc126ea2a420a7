using System.Net;
using Enclave.Hosting;
using Enclave.Security.Keys;

namespace Enclave.Security.Auth;

/// <summary>
/// Start-up rule for exposure: with no API key in the store the gateway serves anonymously only on loopback
/// addresses, with a loud warning; on any other address it refuses to start and says how to fix it.
/// </summary>
public static partial class SecurityStartup
{
    public static async Task CheckAsync(IApiKeyStore store, string urls, ILogger logger, CancellationToken cancellationToken)
    {
        if (await store.AnyAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var exposed = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(u => !IsLoopback(u)).ToArray();
        if (exposed.Length > 0)
        {
            throw new ConfigurationException(
                $"Refusing to listen on {string.Join(", ", exposed)} without API keys: anyone who can reach it could use every model. "
                + "Create a key first (enclave keys create --name NAME --data-dir DIR), or bind to 127.0.0.1 with --urls http://127.0.0.1:8400.");
        }

        LogAnonymous(logger);
    }

    /// <summary>True for http(s) URLs whose host is localhost or a loopback IP; wildcards and names are not.</summary>
    public static bool IsLoopback(string url)
    {
        var normalized = url.Replace("://*", "://wildcard", StringComparison.Ordinal).Replace("://+", "://wildcard", StringComparison.Ordinal);
        if (!Uri.TryCreate(normalized, UriKind.Absolute, out var uri))
        {
            return false;
        }

        if (uri.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
    }

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "NO API KEYS EXIST: every request on this loopback address is served as 'anonymous' with full access. Create a key with 'enclave keys create' to require keys.")]
    private static partial void LogAnonymous(ILogger logger);
}
