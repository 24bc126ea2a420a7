using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Enclave.Backends;

/// <summary>
/// A remote inference server reached over HTTP(S): an OpenAI-compatible server, Ollama, or another Enclave.
/// Its models are the declared ones plus, when discovery is on, those its model list names (refreshed by each
/// health check). The upstream key comes from an environment variable or a file and is only ever sent in the
/// <c>Authorization</c> header.
/// </summary>
public sealed class RemoteBackend : Backend
{
    private readonly BackendOptions _options;
    private readonly Uri _inferenceBase;
    private readonly Uri _modelList;
    private readonly HttpClient _client;
    private volatile IReadOnlyCollection<string> _models;

    public RemoteBackend(string name, BackendOptions options, ResilienceOptions resilience, TimeProvider time)
        : base(name, options.Weight, options.MaxConcurrency, options.Timeouts, new CircuitBreaker(resilience, time))
    {
        _options = options;
        var root = options.BaseUrl.TrimEnd('/') + "/";
        (_inferenceBase, _modelList) = options.Kind switch
        {
            BackendKind.OpenAi => (new Uri(root), new Uri(root + "models")),
            BackendKind.Ollama => (new Uri(root + "v1/"), new Uri(root + "api/tags")),
            _ => (new Uri(root + "v1/"), new Uri(root + "v1/models")),
        };
        Kind = options.Kind;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromMilliseconds(options.Timeouts.ConnectMs),
            AllowAutoRedirect = false,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = Math.Max(1, options.MaxConcurrency),
        };
        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        if (ReadKey(options) is { Length: > 0 } key)
        {
            _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        _models = [.. options.Models];
        Address = new Uri(root).GetLeftPart(UriPartial.Authority);
    }

    public BackendKind Kind { get; }

    public override bool IsLocal => false;

    public override string Address { get; }

    public override IReadOnlyCollection<string> Models => _models;

    /// <summary>Whether the last active check succeeded (null before the first).</summary>
    public bool? Healthy { get; private set; }

    public override ValueTask<BackendEndpoint?> ResolveAsync(string model, string path, TimeSpan wait, CancellationToken cancellationToken) =>
        ValueTask.FromResult<BackendEndpoint?>(new BackendEndpoint(_client, new Uri(_inferenceBase, path)));

    /// <summary>
    /// The active health check: one model-list request (never a completion). Refreshes discovered models. Returns
    /// the failure reason, or null when healthy.
    /// </summary>
    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromMilliseconds(_options.Timeouts.ConnectMs + 5_000));
            using var response = await _client.GetAsync(_modelList, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                Healthy = false;
                return $"model list answered {(int)response.StatusCode}";
            }

            if (_options.ShouldDiscover)
            {
                var listed = await ReadModelNamesAsync(response, timeout.Token).ConfigureAwait(false);
                _models = [.. _options.Models.Union(listed, StringComparer.Ordinal)];
            }

            Healthy = true;
            Breaker.RecordHealthy();
            return null;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or JsonException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Healthy = false;
            return ex.Message;
        }
    }

    private async Task<IReadOnlyList<string>> ReadModelNamesAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        // Model lists are small; a hostile one is cut at 4 MiB.
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var limited = new BoundedReadStream(body, 4 * 1024 * 1024);
        using var doc = await JsonDocument.ParseAsync(limited, cancellationToken: cancellationToken).ConfigureAwait(false);
        var (array, field) = Kind == BackendKind.Ollama ? ("models", "name") : ("data", "id");
        if (!doc.RootElement.TryGetProperty(array, out var items) || items.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        return [.. items.EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.Object && m.TryGetProperty(field, out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null)
            .OfType<string>()
            .Where(n => n.Length is > 0 and <= 256)];
    }

    // RoutingOptionsValidator has checked that the variable is set and the file exists and is not empty.
    private static string? ReadKey(BackendOptions options) =>
        !string.IsNullOrEmpty(options.ApiKeyEnv) ? Environment.GetEnvironmentVariable(options.ApiKeyEnv)?.Trim()
        : !string.IsNullOrEmpty(options.ApiKeyFile) ? File.ReadLines(options.ApiKeyFile).FirstOrDefault()?.Trim()
        : null;

    public override ValueTask DisposeAsync()
    {
        _client.Dispose();
        return base.DisposeAsync();
    }
}
