using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Enclave.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Enclave.Tests.Backends.Remote;

/// <summary>
/// "The wall": a real OpenAI-compatible HTTP server on loopback that injects the upstream faults of RELIABILITY.md §6.
/// It serves <c>GET /v1/models</c>, <c>POST /v1/chat/completions</c>, <c>/v1/completions</c> and
/// <c>/v1/embeddings</c>, streamed (OpenAI's SSE chunk shapes, the usage-only chunk only when
/// <c>stream_options.include_usage</c>, then <c>[DONE]</c>) and not. The fault is chosen by the request's
/// <c>model</c> (<see cref="FaultSpec.Parse"/>) unless <see cref="Serve"/> set one for that name. Every request is
/// recorded (<see cref="Requests"/>) with its arrival time, model, headers and raw body, and what became of it.
/// Thread-safe; one instance per test, disposed at its end (hanging handlers are released then).
/// </summary>
public sealed partial class FaultUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, FaultSpec> _specs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly List<UpstreamRequest> _requests = [];
    private string[] _models;
    private int _sequence;
    private int _inFlight;
    private int _maxInFlight;
    private volatile bool _down;

    private FaultUpstream(WebApplication app, string name, int port, string[] models)
    {
        _app = app;
        Name = name;
        Port = port;
        _models = models;
    }

    /// <summary>Names this wall in response ids (<c>chatcmpl-{Name}-{n}</c>) and <c>system_fingerprint</c>.</summary>
    public string Name { get; }

    public int Port { get; }

    /// <summary>The base URL an <c>openai</c> backend is configured with (it includes <c>/v1</c>).</summary>
    public string BaseUrl => $"http://127.0.0.1:{Port}/v1";

    /// <summary>When set, every request must carry <c>Authorization: Bearer {key}</c>, else 401.</summary>
    public string? RequiredApiKey { get; set; }

    /// <summary>The model ids listed by <c>GET /v1/models</c>.</summary>
    public IReadOnlyList<string> Models
    {
        get => Volatile.Read(ref _models);
        set => Volatile.Write(ref _models, [.. value]);
    }

    /// <summary>True while the wall answers everything (the model list included) with 503 (F18).</summary>
    public bool IsDown => _down;

    public int InFlight => Volatile.Read(ref _inFlight);

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public IReadOnlyList<UpstreamRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>The inference (POST) requests, in arrival order.</summary>
    public IReadOnlyList<UpstreamRequest> Inference => [.. Requests.Where(r => r.IsInference)];

    public static async Task<FaultUpstream> StartAsync(string name, params string[] models)
    {
        var port = GatewayProcess.FreeTcpPort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var app = builder.Build();
        var wall = new FaultUpstream(app, name, port, models);
        app.MapGet("/v1/models", wall.ListModelsAsync);
        app.MapPost("/v1/chat/completions", wall.InferAsync);
        app.MapPost("/v1/completions", wall.InferAsync);
        app.MapPost("/v1/embeddings", wall.InferAsync);
        app.MapFallback(wall.UnknownAsync);
        await app.StartAsync();
        return wall;
    }

    /// <summary>Serves <paramref name="model"/> with <paramref name="spec"/> instead of what its name says.</summary>
    public FaultUpstream Serve(string model, FaultSpec spec)
    {
        _specs[model] = spec;
        return this;
    }

    /// <summary>F18: from now on every request, health checks included, gets 503.</summary>
    public void GoDown() => _down = true;

    public void ComeUp() => _down = false;

    /// <summary>Inference requests for <paramref name="model"/> so far.</summary>
    public int Attempts(string model) => Inference.Count(r => r.Model == model);

    /// <summary>Polls until a recorded request matches, or fails with what arrived.</summary>
    public async Task<UpstreamRequest> WaitForAsync(Func<UpstreamRequest, bool> match, TimeSpan timeout)
    {
        var deadline = Deadline.In(timeout);
        while (!deadline.Passed)
        {
            if (Requests.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            await Task.Delay(20);
        }

        Assert.Fail($"No matching request reached wall '{Name}' within {timeout}. Received: {Describe()}");
        return null!;
    }

    /// <summary>One line per recorded request, for assertion messages.</summary>
    public string Describe() => Requests.Count == 0 ? "(none)" : string.Join("; ", Requests);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    private UpstreamRequest Record(HttpContext context, string body, string? model)
    {
        var request = new UpstreamRequest
        {
            Sequence = Interlocked.Increment(ref _sequence),
            ReceivedAt = Stopwatch.GetTimestamp(),
            Method = context.Request.Method,
            Path = context.Request.Path.Value ?? "",
            Model = model,
            Authorization = context.Request.Headers.Authorization.Count > 0 ? context.Request.Headers.Authorization.ToString() : null,
            Traceparent = context.Request.Headers.TryGetValue("traceparent", out var tp) ? tp.ToString() : null,
            Body = body,
        };
        lock (_requests)
        {
            _requests.Add(request);
        }

        return request;
    }

    private async Task ListModelsAsync(HttpContext context)
    {
        var request = Record(context, "", null);
        if (await RefuseAsync(context, request))
        {
            return;
        }

        var data = Models.Select(m => new { id = m, @object = "model", created = 1_700_000_000, owned_by = Name }).ToArray();
        await context.Response.WriteAsJsonAsync(new { @object = "list", data }, context.RequestAborted);
        request.MarkEnded();
    }

    private async Task UnknownAsync(HttpContext context)
    {
        var request = Record(context, "", null);
        request.Outcome = "404";
        await WriteErrorAsync(context, 404, "invalid_request_error", "unknown_url", null, $"Unknown path {context.Request.Path}.", null);
        request.MarkEnded();
    }

    /// <summary>Down (503) and missing or wrong credentials (401) come before any fault.</summary>
    private async Task<bool> RefuseAsync(HttpContext context, UpstreamRequest request)
    {
        if (_down)
        {
            request.Outcome = "down";
            await WriteErrorAsync(context, 503, "server_error", "service_unavailable", null, "The wall is down.", null);
            request.MarkEnded();
            return true;
        }

        if (RequiredApiKey is { } key && request.Authorization != "Bearer " + key)
        {
            request.Outcome = "401";
            await WriteErrorAsync(context, 401, "invalid_request_error", "invalid_api_key", null, "Incorrect API key provided.", null);
            request.MarkEnded();
            return true;
        }

        return false;
    }

    private static async Task WriteErrorAsync(HttpContext context, int status, string type, string? code, string? param, string message, int? retryAfterSeconds)
    {
        context.Response.StatusCode = status;
        if (retryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await context.Response.WriteAsJsonAsync(new { error = new { message, type, param, code } }, context.RequestAborted);
    }

    /// <summary>Resets the connection (TCP RST: linger 0, then abort), as a crashed or firewalled upstream does.</summary>
    private static void Reset(HttpContext context, UpstreamRequest request)
    {
        request.MarkFault();
        if (context.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
        {
            socket.LingerState = new LingerOption(true, 0);
        }

        context.Abort();
        request.MarkEnded();
    }

    private static JsonElement? ParseBody(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
