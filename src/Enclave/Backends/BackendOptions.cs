namespace Enclave.Backends;

/// <summary>How Enclave talks to a backend. All speak OpenAI's wire format for inference; they differ in discovery and health.</summary>
public enum BackendKind
{
    /// <summary>Any OpenAI-compatible server (vLLM, llama-server, TGI, LiteLLM, a cloud API). <c>BaseUrl</c> includes <c>/v1</c>; models from <c>GET {BaseUrl}/models</c>.</summary>
    OpenAi,

    /// <summary>An Ollama server. <c>BaseUrl</c> is its root (<c>http://host:11434</c>); inference through its <c>/v1</c> layer, models from <c>/api/tags</c>.</summary>
    Ollama,

    /// <summary>Another Enclave gateway. <c>BaseUrl</c> is its root; inference through <c>/v1</c>, models from <c>/v1/models</c>, health from <c>/readyz</c>.</summary>
    Enclave,
}

/// <summary>Per-backend time limits, in milliseconds.</summary>
public sealed class BackendTimeouts
{
    /// <summary>TCP (and TLS) connection set-up.</summary>
    public int ConnectMs { get; set; } = 5_000;

    /// <summary>For streamed requests: from sending the request to the first generated event. Passing it fails over (nothing has reached the client yet).</summary>
    public int FirstTokenMs { get; set; } = 60_000;

    /// <summary>For streamed requests: the longest silence between two events once the stream has started; passing it ends the stream with an error event.</summary>
    public int IdleMs { get; set; } = 30_000;

    /// <summary>The whole request, all attempts and waits included. Non-streamed requests wait up to this for their answer.</summary>
    public int TotalMs { get; set; } = 600_000;
}

/// <summary>One entry of the <c>Backends</c> section.</summary>
public sealed class BackendOptions
{
    public BackendKind Kind { get; set; } = BackendKind.OpenAi;

    public string BaseUrl { get; set; } = "";

    /// <summary>Environment variable holding the bearer key sent upstream.</summary>
    public string? ApiKeyEnv { get; set; }

    /// <summary>File holding the bearer key sent upstream (first line; keep it 0600).</summary>
    public string? ApiKeyFile { get; set; }

    /// <summary>Models this backend serves, by the names it knows them by. Empty: discovered from its model list.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Ask the backend for its model list (at start-up and on every health check) in addition to <see cref="Models"/>.</summary>
    public bool? DiscoverModels { get; set; }

    /// <summary>Share of traffic relative to other backends serving the same model.</summary>
    public double Weight { get; set; } = 1;

    /// <summary>Requests in flight to this backend at once; more go to another backend, or get 503 <c>upstream_busy</c> with Retry-After.</summary>
    public int MaxConcurrency { get; set; } = 64;

    public BackendTimeouts Timeouts { get; set; } = new();

    public bool ShouldDiscover => DiscoverModels ?? Models.Count == 0;
}

/// <summary>One upstream of a model route: a backend and the model name it knows.</summary>
public sealed class RouteTarget
{
    public string Backend { get; set; } = "";

    /// <summary>The upstream model name; defaults to the public name.</summary>
    public string? Model { get; set; }

    public double Weight { get; set; } = 1;
}

/// <summary>One entry of the <c>Routes</c> section: a public model name (or alias) and where it goes.</summary>
public sealed class RouteOptions
{
    /// <summary>Balanced by weight and least outstanding requests.</summary>
    public List<RouteTarget> Targets { get; set; } = [];

    /// <summary>Tried in order when every target failed before the first byte or is unavailable.</summary>
    public List<RouteTarget> Fallbacks { get; set; } = [];
}

/// <summary>Circuit breaker settings shared by all backends (the <c>Resilience</c> section).</summary>
public sealed class ResilienceOptions
{
    /// <summary>Consecutive failures that open a backend's circuit.</summary>
    public int BreakerConsecutiveFailures { get; set; } = 5;

    /// <summary>Failure share over the window that opens the circuit, once <see cref="BreakerMinimumRequests"/> were seen.</summary>
    public double BreakerFailureRatio { get; set; } = 0.5;

    public int BreakerMinimumRequests { get; set; } = 20;

    /// <summary>Sliding window for the failure ratio.</summary>
    public int BreakerWindowMs { get; set; } = 30_000;

    /// <summary>How long an open circuit stays open before one trial request (or a passing health check) may close it.</summary>
    public int BreakerOpenMs { get; set; } = 5_000;

    /// <summary>Attempts per request across all targets (retries included).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The longest upstream <c>Retry-After</c> the gateway waits out itself (within the total budget); longer ones fail over.</summary>
    public int MaxRetryAfterMs { get; set; } = 5_000;

    /// <summary>Active health checks of remote backends (a model-list request, never a completion).</summary>
    public int HealthCheckIntervalMs { get; set; } = 10_000;
}
