using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OpenAI;

namespace Enclave.Tests.Infrastructure;

/// <summary>
/// A real <c>enclave serve</c> process on a free loopback port, with its workers. Output is captured for
/// assertions and diagnostics; the whole process tree is killed on dispose.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private GatewayProcess(Process process, Uri baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
        // No draining: disposing an unfinished response closes the connection, as a client that goes away does.
        Http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri BaseUrl { get; }

    /// <summary>The gateway's --data-dir (database, secrets, audit).</summary>
    public string DataDir { get; private init; } = "";

    /// <summary>A free loopback port, for tests that choose the listen address themselves.</summary>
    public static int FreeTcpPort() => FreePort();

    public HttpClient Http { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>kill -9 of the gateway and its workers.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public OpenAIClient OpenAi => new(new ApiKeyCredential("not-needed"), new OpenAIClientOptions { Endpoint = new Uri(BaseUrl, "/v1") });

    public static string EnclaveExecutable => Path.Combine(AppContext.BaseDirectory, "enclave");

    /// <summary>Starts a gateway serving <paramref name="models"/> (name, path, settings) with 1 thread per model.</summary>
    public static async Task<GatewayProcess> StartAsync(IEnumerable<ModelSpec> models, IDictionary<string, string>? environment = null, bool waitReady = true, IReadOnlyList<string>? extraArgs = null, string? dataDir = null, string? urls = null)
    {
        var port = FreePort();
        dataDir ??= Path.Combine(Path.GetTempPath(), "enclave-tests-" + Guid.NewGuid().ToString("N"));
        var info = new ProcessStartInfo(EnclaveExecutable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(urls ?? $"http://127.0.0.1:{port}");
        info.ArgumentList.Add("--data-dir");
        info.ArgumentList.Add(dataDir);
        foreach (var model in models)
        {
            info.ArgumentList.Add("--model");
            info.ArgumentList.Add($"{model.Name}={model.Path}");
            info.Environment[$"ENCLAVE__Models__{model.Name}__Threads"] = "1";
            foreach (var (key, value) in model.Settings)
            {
                info.Environment[$"ENCLAVE__Models__{model.Name}__{key}"] = value;
            }
        }

        foreach (var arg in extraArgs ?? [])
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info)!;
        var gateway = new GatewayProcess(process, urls is not null && urls.StartsWith("http://127.0.0.1:", StringComparison.Ordinal) && !urls.Contains(';', StringComparison.Ordinal) ? new Uri(urls) : new Uri($"http://127.0.0.1:{port}")) { DataDir = dataDir };
        process.OutputDataReceived += (_, e) => gateway.Append(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (waitReady)
        {
            await gateway.WaitReadyAsync(TimeSpan.FromSeconds(60));
        }

        return gateway;
    }

    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"enclave serve exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await Http.GetAsync("/readyz");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"enclave serve was not ready within {timeout}:\n{Output}");
    }

    /// <summary>Waits for the process to exit by itself (for start-up failure tests).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A model to serve in a test gateway, with extra <c>Models:NAME:*</c> settings.</summary>
public sealed record ModelSpec(string Name, string Path, IReadOnlyDictionary<string, string> Settings)
{
    public ModelSpec(string name, string path) : this(name, path, new Dictionary<string, string>())
    {
    }
}
