using System.Globalization;
using System.Net;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Backends.Remote;

/// <summary>
/// The <c>Backends</c>, <c>Routes</c> and <c>Resilience</c> settings of a test gateway, written as the
/// <c>ENCLAVE__Section__Key</c> environment variables an operator would set, and the start of that gateway.
/// Every backend gets a 15 s total budget unless the test sets its own, so a wrong gateway fails a test in
/// seconds instead of hanging it for the default ten minutes. Not thread-safe; build it, then start.
/// </summary>
public sealed class RemoteSetup
{
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, string> Environment => _environment;

    /// <summary>An <c>openai</c> backend on <paramref name="wall"/> serving <paramref name="models"/> (empty: discovered).</summary>
    public RemoteSetup Backend(string name, FaultUpstream wall, params string[] models) => Backend(name, wall.BaseUrl, models);

    public RemoteSetup Backend(string name, string baseUrl, params string[] models)
    {
        Set($"Backends:{name}:Kind", "openai");
        Set($"Backends:{name}:BaseUrl", baseUrl);
        for (var i = 0; i < models.Length; i++)
        {
            Set($"Backends:{name}:Models:{i}", models[i]);
        }

        return Set($"Backends:{name}:Timeouts:TotalMs", 15_000);
    }

    public RemoteSetup Timeouts(string backend, int? connectMs = null, int? firstTokenMs = null, int? idleMs = null, int? totalMs = null)
    {
        foreach (var (key, value) in (ReadOnlySpan<(string, int?)>)[("ConnectMs", connectMs), ("FirstTokenMs", firstTokenMs), ("IdleMs", idleMs), ("TotalMs", totalMs)])
        {
            if (value is { } ms)
            {
                Set($"Backends:{backend}:Timeouts:{key}", ms);
            }
        }

        return this;
    }

    /// <summary>A public model name balanced over <paramref name="targets"/> and, when they fail, the fallbacks in order.</summary>
    public RemoteSetup Route(string name, (string Backend, string Model)[] targets, params (string Backend, string Model)[] fallbacks)
    {
        for (var i = 0; i < targets.Length; i++)
        {
            Set($"Routes:{name}:Targets:{i}:Backend", targets[i].Backend);
            Set($"Routes:{name}:Targets:{i}:Model", targets[i].Model);
        }

        for (var i = 0; i < fallbacks.Length; i++)
        {
            Set($"Routes:{name}:Fallbacks:{i}:Backend", fallbacks[i].Backend);
            Set($"Routes:{name}:Fallbacks:{i}:Model", fallbacks[i].Model);
        }

        return this;
    }

    public RemoteSetup Resilience(string key, int value) => Set($"Resilience:{key}", value);

    /// <summary>Any setting, by its configuration path (<c>Backends:a:Weight</c>).</summary>
    public RemoteSetup Set(string key, object value)
    {
        _environment["ENCLAVE__" + key.Replace(":", "__", StringComparison.Ordinal)] = Convert.ToString(value, CultureInfo.InvariantCulture)!;
        return this;
    }

    /// <summary>
    /// Starts the gateway and waits until it is alive and <c>/v1/models</c> lists <paramref name="models"/>
    /// (readiness of remote backends is not assumed; a model being listed is what makes it routable).
    /// </summary>
    public async Task<GatewayProcess> StartAsync(string[] models, IEnumerable<ModelSpec>? local = null, IReadOnlyList<string>? extraArgs = null, string? dataDir = null)
    {
        var gateway = await GatewayProcess.StartAsync(local ?? [], new Dictionary<string, string>(_environment), waitReady: false, extraArgs: extraArgs, dataDir: dataDir);
        try
        {
            await WaitForModelsAsync(gateway, models, TimeSpan.FromSeconds(30));
            return gateway;
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    public static async Task WaitForModelsAsync(GatewayProcess gateway, IReadOnlyCollection<string> models, TimeSpan timeout)
    {
        var deadline = Deadline.In(timeout);
        var listed = "(no answer)";
        while (!deadline.Passed)
        {
            Assert.False(gateway.HasExited, "enclave serve exited:\n" + gateway.Output);
            try
            {
                using var response = await gateway.Http.GetAsync("/v1/models");
                listed = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                if (response.StatusCode == HttpStatusCode.OK && models.All(ListedIds(listed[4..]).Contains))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        Assert.Fail($"/v1/models did not list [{string.Join(", ", models)}] within {timeout}; last answer: {listed}\n{gateway.Output}");
    }

    public static HashSet<string> ListedIds(string modelsJson) =>
        [.. JsonDocument.Parse(modelsJson).RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!)];
}
