using Enclave.Api;
using Enclave.Engine;
using Enclave.Native;

namespace Enclave.Worker;

/// <summary>
/// Runs <c>enclave worker</c>: loads one model into an <see cref="InferenceEngine"/> and serves it over HTTP on a
/// Unix domain socket for the gateway. A native crash here ends this process only.
/// </summary>
public static partial class WorkerHost
{
    public static async Task<int> RunAsync(string name, string socketPath, EngineOptions options, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o => o.IncludeScopes = false);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        if (File.Exists(socketPath))
        {
            File.Delete(socketPath);
        }

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.ListenUnixSocket(socketPath);
            k.Limits.MaxRequestBodySize = 64L << 20;
        });
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(new WorkerIdentity(name));
        // The gateway hands its Limits section to the worker as ENCLAVE__Limits__* variables (see WorkerLaunch).
        builder.Services.AddOptions<ApiLimits>().Bind(new ConfigurationBuilder().AddEnvironmentVariables(Hosting.EnclaveConfiguration.EnvironmentPrefix).Build().GetSection("Limits"));
        builder.Services.AddSingleton(sp =>
        {
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Enclave.Engine");
            LlamaLibrary.Initialize(sp.GetRequiredService<ILoggerFactory>().CreateLogger("Enclave.Native"));
            return InferenceEngine.Load(options, logger);
        });

        await using var app = builder.Build();
        var engine = app.Services.GetRequiredService<InferenceEngine>();
        LogLoaded(app.Logger, name, engine.Model.Description, engine.Slots, engine.ContextPerSequence, engine.Threads);
        app.MapWorkerEndpoints();
        await app.RunAsync(cancellationToken);
        return 0;
    }

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Worker for {Model} ready: {Description}, {Slots} slots, {Context} tokens per sequence, {Threads} threads")]
    private static partial void LogLoaded(ILogger logger, string model, string description, int slots, int context, int threads);
}
