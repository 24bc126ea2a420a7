namespace Enclave.Capacity.Bench;

/// <summary>Which OpenAI route the load generator calls.</summary>
public enum BenchEndpoint
{
    /// <summary><c>POST /v1/chat/completions</c> with messages.</summary>
    Chat,

    /// <summary><c>POST /v1/completions</c> with a raw prompt.</summary>
    Completions,
}

/// <summary>
/// The server under test: an OpenAI-compatible base URL (with or without the trailing <c>/v1</c>), the model name,
/// an optional API key sent as a bearer token, and the route. Immutable.
/// </summary>
public sealed record BenchTarget(Uri BaseUrl, string Model, string? ApiKey, BenchEndpoint Endpoint, bool IgnoreEos = false)
{
    /// <summary>Parses <c>--url</c>: http or https, no query; <c>/v1</c> is appended unless the path ends with it.</summary>
    public static Uri ParseUrl(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Query.Length > 0)
        {
            throw new CapacityUsageException($"--url '{text}' is not an http(s) URL of an OpenAI-compatible server. Example: --url http://127.0.0.1:8400");
        }

        var path = uri.AbsolutePath.TrimEnd('/');
        if (!path.EndsWith("/v1", StringComparison.Ordinal))
        {
            path += "/v1";
        }

        return new UriBuilder(uri) { Path = path + "/" }.Uri;
    }

    /// <summary>The full URL of <see cref="Endpoint"/>.</summary>
    public Uri RequestUri => new(BaseUrl, Endpoint == BenchEndpoint.Chat ? "chat/completions" : "completions");

    public string Route => Endpoint == BenchEndpoint.Chat ? "/v1/chat/completions" : "/v1/completions";
}
