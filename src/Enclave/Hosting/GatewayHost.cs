using Microsoft.Extensions.DependencyInjection.Extensions;
using Enclave.Api;
using Enclave.Api.Ollama;
using Enclave.Backends;
using Enclave.Ledger;
using Enclave.Telemetry;
using Enclave.Security;
using Enclave.Security.Auth;
using Enclave.Security.Keys;
using Enclave.Security.Limits;
using Enclave.Ui;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace Enclave.Hosting;

/// <summary>Builds the <c>enclave serve</c> web application: options, workers, and the endpoint table.</summary>
public static partial class GatewayHost
{
    public static WebApplication Build(IConfiguration configuration)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddConfiguration(configuration);
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o => o.IncludeScopes = true);
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        // ASP.NET's per-request lines carry the raw URL, query string included; keys sent there must not reach a log.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Routing", LogLevel.Warning);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddOptions<ServerOptions>().Bind(configuration.GetSection("Server")).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ApiLimits>().Bind(configuration.GetSection("Limits")).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ModelsOptions>().Bind(configuration).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ModelsOptions>, ModelsOptionsValidator>();
        builder.Services.AddSingleton<IValidateOptions<ModelsOptions>, ModelResidencyOptionsValidator>();
        builder.Services.AddSingleton<LocalModels>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LocalModels>());
        builder.Services.AddOptions<RoutingOptions>().Bind(configuration).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>();
        builder.Services.AddSingleton<BackendRegistry>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<BackendRegistry>());
        builder.Services.AddSingleton<ModelRouter>();
        builder.Services.AddEnclaveSecurity(configuration["Server:DataDir"] ?? EnclaveConfiguration.ResolveDataDir(null));
        builder.Services.AddKeyLimits();
        builder.Services.AddUsageLedger();
        var telemetry = configuration.GetSection("Telemetry").Get<TelemetryOptions>() ?? new TelemetryOptions();
        TelemetryOptionsValidator.Validate(telemetry);
        builder.Services.AddGatewayTelemetry(telemetry);
        builder.Services.AddDashboard();
        builder.Services.AddSingleton<ForwardServices>();
        builder.Services.AddExceptionHandler<EnvelopeExceptionHandler>();
        builder.Services.AddProblemDetails();

        var server = configuration.GetSection("Server").Get<ServerOptions>() ?? new ServerOptions();
        builder.Services.AddSingleton<GracefulShutdown>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<GracefulShutdown>());
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = GracefulShutdown.HostShutdownTimeout(server));
        var limits = configuration.GetSection("Limits").Get<ApiLimits>() ?? new ApiLimits();
        var urls = server.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var certificate = server.Tls.IsConfigured ? server.Tls.Load() : null;
        if (certificate is null && urls.Any(u => u.StartsWith("https:", StringComparison.OrdinalIgnoreCase)))
        {
            throw new ConfigurationException("Server:Urls has an https:// address but no certificate is configured. Set Server:Tls:CertificatePath (and KeyPath or Password) or Server:Tls:Subject.");
        }

        builder.WebHost.UseUrls(urls);
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            if (certificate is not null)
            {
                k.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate);
            }

            KestrelLimits.Apply(k, limits);
        });

        var app = builder.Build();
        // Validate now, so bad settings stop start-up with their messages rather than a host failure trace.
        _ = app.Services.GetRequiredService<IOptions<ServerOptions>>().Value;
        _ = app.Services.GetRequiredService<IOptions<ApiLimits>>().Value;
        _ = app.Services.GetRequiredService<IOptions<ModelsOptions>>().Value;
        _ = app.Services.GetRequiredService<IOptions<RoutingOptions>>().Value;
        app.UseMiddleware<RequestIdMiddleware>();
        app.UseMiddleware<GracefulShutdownMiddleware>();
        app.UseExceptionHandler();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseStatusCodePages(async status =>
        {
            var http = status.HttpContext;
            if (http.Response.StatusCode == StatusCodes.Status405MethodNotAllowed)
            {
                await ApiError.MethodNotAllowed(http.Request.Method, http.Request.Path).WriteResponseAsync(http);
            }
        });
        app.MapGet("/healthz", () => Results.Text("ok")).AllowAnonymous();
        app.MapGet("/readyz", Readiness).AllowAnonymous();
        app.MapGet("/admin/workers", WorkersAsync).RequireAuthorization(AuthPolicies.Admin);
        app.MapOpenAiGateway();
        app.MapOllamaApi();
        app.MapAdminKeys();
        app.MapAdminUsage();
        app.MapMetrics(telemetry);
        app.MapDashboard();
        app.MapFallback(NotFoundOrWrongMethod).RequireAuthorization(AuthPolicies.AnyKey);
        return app;
    }

    /// <summary>Creates the database tables and applies the exposure rule before the gateway listens.</summary>
    public static async Task PrepareAsync(WebApplication app, CancellationToken cancellationToken)
    {
        var store = app.Services.GetRequiredService<IApiKeyStore>();
        var server = app.Services.GetRequiredService<IOptions<ServerOptions>>().Value;
        await SecurityStartup.CheckAsync(store, server.Urls, app.Logger, cancellationToken);
        await app.Services.GetRequiredService<LedgerWriter>().InitializeAsync(cancellationToken);
        PromptLog.WarnIfEnabled(app.Services.GetRequiredService<ILoggerFactory>());
    }

    // The fallback catches every unmatched request, so a known path with the wrong method is answered here.
    private static Task NotFoundOrWrongMethod(HttpContext http)
    {
        var path = http.Request.Path.Value ?? "";
        var methods = http.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => string.Equals("/" + e.RoutePattern.RawText?.TrimStart('/'), path, StringComparison.OrdinalIgnoreCase))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [])
            .Distinct()
            .ToArray();
        if (methods.Length > 0)
        {
            http.Response.Headers.Allow = string.Join(", ", methods);
            return ApiError.MethodNotAllowed(http.Request.Method, path).WriteResponseAsync(http);
        }

        return ApiError.NotFound(path).WriteResponseAsync(http);
    }

    // Preloaded models must be ready (or deliberately unloaded: idle or for memory, a request loads them again);
    // a model that loads on first use never holds readiness back. A draining gateway is never ready.
    private static IResult Readiness(LocalModels models, GracefulShutdown shutdown)
    {
        var residency = models.Residency().ToDictionary(r => r.Model, StringComparer.Ordinal);
        var snapshots = models.All.Select(w => w.Snapshot()).ToArray();
        var ready = !shutdown.IsDraining && snapshots.All(s => !residency[s.Model].Preload || s.State is WorkerState.Ready or WorkerState.Unloaded or WorkerState.Unloading);
        return Results.Json(
            new { status = shutdown.IsDraining ? "shutting_down" : ready ? "ready" : "not_ready", models = snapshots.Select(s => new { name = s.Model, state = s.State.ToString().ToLowerInvariant(), preload = residency[s.Model].Preload, pid = s.ProcessId, restarts = s.Restarts, last_exit_code = s.LastExitCode, last_error = s.LastError }) },
            statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>Each worker's process state and residency (size, keep-alive, expiry) plus its engine's live load (slots in use, queue, KV cells).</summary>
    private static async Task<IResult> WorkersAsync(LocalModels models, CancellationToken cancellationToken)
    {
        var rows = new List<object>();
        var residency = models.Residency().ToDictionary(r => r.Model, StringComparer.Ordinal);
        foreach (var worker in models.All)
        {
            var s = worker.Snapshot();
            var r = residency[worker.Name];
            System.Text.Json.JsonElement? engine = null;
            if (s.State == WorkerState.Ready)
            {
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(TimeSpan.FromSeconds(2));
                    engine = await worker.Client.GetFromJsonAsync<System.Text.Json.JsonElement>("status", timeout.Token);
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or System.Text.Json.JsonException)
                {
                    engine = null;
                }
            }

            rows.Add(new
            {
                name = s.Model,
                state = s.State.ToString().ToLowerInvariant(),
                pid = s.ProcessId,
                restarts = s.Restarts,
                last_exit_code = s.LastExitCode,
                loads = s.Loads,
                preload = r.Preload,
                keep_alive = r.KeepAlive.ToString(),
                active_requests = r.ActiveRequests,
                size_bytes = r.SizeBytes,
                resident_bytes = r.ResidentBytes,
                last_used = r.LastUsed,
                expires_at = r.ExpiresAt,
                engine,
            });
        }

        return Results.Json(new { workers = rows, memory_budget_bytes = models.MemoryBudgetBytes });
    }

    /// <summary>Any exception that escapes a handler becomes a 500 envelope carrying the request id; details stay in the log.</summary>
    private sealed partial class EnvelopeExceptionHandler(ILogger<EnvelopeExceptionHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (exception is BadHttpRequestException bad)
            {
                await new ApiError(bad.StatusCode, "invalid_request_error", null, bad.Message).WriteResponseAsync(httpContext);
                return true;
            }

            LogUnhandled(logger, httpContext.TraceIdentifier, exception);
            await ApiError.Internal(httpContext.TraceIdentifier).WriteResponseAsync(httpContext);
            return true;
        }

        [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "Unhandled error in request {RequestId}")]
        private static partial void LogUnhandled(ILogger logger, string requestId, Exception error);
    }
}
