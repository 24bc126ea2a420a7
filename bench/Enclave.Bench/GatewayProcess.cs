using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Enclave.Bench;

/// <summary>
/// A real <c>enclave serve</c> child process on 127.0.0.1 with one model, configured through a private
/// enclave.json in a temporary folder (no user configuration is read). Disposing kills the gateway and its
/// worker (the whole process tree) and removes the folder.
/// </summary>
internal sealed class GatewayProcess : IDisposable
{
    public const string ModelName = "bench";

    private readonly Process _process;
    private readonly string _workDir;
    private readonly Queue<string> _log = new();
    private readonly Lock _logLock = new();

    private GatewayProcess(Process process, string workDir, Uri baseAddress)
    {
        _process = process;
        _workDir = workDir;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    public static GatewayProcess Start(string enclavePath, string modelPath, int slots, int threads)
    {
        var workDir = Directory.CreateTempSubdirectory("enclave-bench-").FullName;
        var port = FreeLoopbackPort();
        var config = Path.Combine(workDir, "enclave.json");
        using (var stream = File.Create(config))
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("Models");
            w.WriteStartObject(ModelName);
            w.WriteString("Path", Path.GetFullPath(modelPath));
            w.WriteNumber("Slots", slots);
            w.WriteNumber("Threads", threads);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        var info = new ProcessStartInfo(enclavePath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workDir,
        };
        var url = $"http://127.0.0.1:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        foreach (var arg in new[] { "serve", "--config", config, "--urls", url, "--data-dir", Path.Combine(workDir, "data") })
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info };
        var gateway = new GatewayProcess(process, workDir, new Uri(url + "/"));
        process.OutputDataReceived += (_, e) => gateway.Remember(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.Remember(e.Data);
        try
        {
            if (!process.Start())
            {
                throw new BenchException($"Could not start {enclavePath}.");
            }

            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return gateway;
        }
        catch
        {
            gateway.Dispose();
            throw;
        }
    }

    /// <summary>Polls <c>GET /readyz</c> until it answers 200 (the worker has loaded the model), the process exits, or the timeout.</summary>
    public async Task WaitReadyAsync(HttpClient client, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var attempts = (int)Math.Ceiling(timeout.TotalMilliseconds / 100);
        for (var i = 0; i < attempts; i++)
        {
            if (_process.HasExited)
            {
                throw new BenchException($"enclave serve exited with code {_process.ExitCode} before it was ready.\n{LogTail()}");
            }

            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                cts.CancelAfter(TimeSpan.FromSeconds(2));
                using var response = await client.GetAsync(new Uri(BaseAddress, "readyz"), cts.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not listening yet.
            }

            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                break;
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new BenchException($"enclave serve was not ready after {timeout.TotalSeconds:0} s.\n{LogTail()}");
    }

    /// <summary>The last lines the gateway and its worker wrote, for error messages.</summary>
    public string LogTail()
    {
        lock (_logLock)
        {
            return _log.Count == 0 ? "(no output)" : string.Join('\n', _log);
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Never started, or already gone.
        }
        finally
        {
            _process.Dispose();
            try
            {
                Directory.Delete(_workDir, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A leftover temporary folder is harmless.
            }
        }
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            _log.Enqueue(line);
            while (_log.Count > 40)
            {
                _log.Dequeue();
            }
        }
    }

    internal static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
