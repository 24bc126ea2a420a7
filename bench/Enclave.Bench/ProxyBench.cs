using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Enclave.Bench;

/// <summary>
/// <c>enclave-bench proxy [--rate R] [--seconds S] [--stream]</c>: the latency Enclave adds in front of a remote
/// OpenAI-compatible server. A fast in-process upstream answers chat completions; the same open-loop load (one
/// request every 1/R s, no coordinated omission: each request is timed from its scheduled start) goes to the
/// upstream directly and through a real <c>enclave serve --backend</c> process, in alternating rounds
/// (direct, gateway, direct, gateway) so drift on the machine hits both alike.
/// </summary>
internal static class ProxyBench
{
    private const string CompletionJson = """{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"up-model","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":10,"total_tokens":22}}""";

    public static async Task<int> RunAsync(string[] args)
    {
        var rate = Arg(args, "--rate", 100);
        var seconds = Arg(args, "--seconds", 10);
        var stream = args.Contains("--stream");
        if (rate is < 1 or > 5000 || seconds is < 1 or > 600)
        {
            await Console.Error.WriteLineAsync("enclave-bench proxy: --rate must be 1 to 5000 requests/s and --seconds 1 to 600.");
            return 2;
        }

        await using var upstream = await StartUpstreamAsync();
        var upstreamUrl = upstream.Urls.Single();
        var workDir = Directory.CreateTempSubdirectory("enclave-proxy-bench-").FullName;
        var port = GatewayProcess.FreeLoopbackPort();
        var gatewayUrl = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        var info = new ProcessStartInfo(Locations.Enclave(null)) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workDir };
        foreach (var a in new[] { "serve", "--urls", gatewayUrl, "--data-dir", Path.Combine(workDir, "data"), "--backend", $"up={upstreamUrl}/v1" })
        {
            info.ArgumentList.Add(a);
        }

        using var gateway = Process.Start(info)!;
        gateway.OutputDataReceived += (_, _) => { };
        gateway.ErrorDataReceived += (_, _) => { };
        gateway.BeginOutputReadLine();
        gateway.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = TimeSpan.FromMinutes(10) }) { Timeout = TimeSpan.FromSeconds(30) };
            await WaitForModelAsync(client, gatewayUrl);
            var body = stream
                ? """{"model":"up-model","messages":[{"role":"user","content":"Say something."}],"stream":true}"""
                : """{"model":"up-model","messages":[{"role":"user","content":"Say something."}]}""";
            Console.WriteLine($"proxy overhead: open-loop {rate} requests/s, {seconds} s per round, {(stream ? "streamed (16 events)" : "non-streamed")} chat completions, 2 rounds each");
            var direct = new List<double>();
            var proxied = new List<double>();
            var errors = 0;
            foreach (var round in new[] { "direct", "gateway", "direct", "gateway" })
            {
                var url = (round == "direct" ? upstreamUrl : gatewayUrl) + "/v1/chat/completions";
                await LoadAsync(client, url, body, rate, TimeSpan.FromSeconds(2), null); // warm-up
                var sink = round == "direct" ? direct : proxied;
                errors += await LoadAsync(client, url, body, rate, TimeSpan.FromSeconds(seconds), sink);
            }

            direct.Sort();
            proxied.Sort();
            Console.WriteLine($"{"",-10} {"n",7} {"p50 ms",9} {"p90 ms",9} {"p99 ms",9}");
            Row("direct", direct);
            Row("gateway", proxied);
            Console.WriteLine($"added latency: p50 {Pct(proxied, 0.50) - Pct(direct, 0.50):F2} ms, p99 {Pct(proxied, 0.99) - Pct(direct, 0.99):F2} ms; gateway/direct p50 ratio {Pct(proxied, 0.50) / Pct(direct, 0.50):F2}; errors {errors}");
            return errors == 0 ? 0 : 1;
        }
        finally
        {
            gateway.Kill(entireProcessTree: true);
            await gateway.WaitForExitAsync();
            Directory.Delete(workDir, recursive: true);
        }
    }

    private static void Row(string name, List<double> sorted) =>
        Console.WriteLine($"{name,-10} {sorted.Count,7} {Pct(sorted, 0.50),9:F2} {Pct(sorted, 0.90),9:F2} {Pct(sorted, 0.99),9:F2}");

    private static double Pct(List<double> sorted, double q) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];

    /// <summary>Sends one request every 1/rate s for the duration; each latency counts from its scheduled start.</summary>
    private static async Task<int> LoadAsync(HttpClient client, string url, string body, int rate, TimeSpan duration, List<double>? sink)
    {
        var start = Stopwatch.GetTimestamp();
        var count = (int)(rate * duration.TotalSeconds);
        var tasks = new List<Task<double>>(count);
        for (var i = 0; i < count; i++)
        {
            var due = start + (long)(i * (double)Stopwatch.Frequency / rate);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            while (Stopwatch.GetTimestamp() < due)
            {
                Thread.Yield();
            }

            tasks.Add(OneAsync(client, url, body, due));
        }

        var results = await Task.WhenAll(tasks);
        sink?.AddRange(results.Where(r => r >= 0));
        return results.Count(r => r < 0);
    }

    private static int _reported;

    private static async Task<double> OneAsync(HttpClient client, string url, string body, long due)
    {
        try
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await client.PostAsync(url, content);
            var answer = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode)
            {
                return Stopwatch.GetElapsedTime(due).TotalMilliseconds;
            }

            Report($"{(int)response.StatusCode} from {url}: {answer[..Math.Min(200, answer.Length)]}");
            return -1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Report($"{ex.GetType().Name} from {url}: {ex.Message}");
            return -1;
        }
    }

    private static void Report(string problem)
    {
        if (Interlocked.Increment(ref _reported) <= 3)
        {
            Console.Error.WriteLine("error: " + problem);
        }
    }

    private static async Task<WebApplication> StartUpstreamAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{GatewayProcess.FreeLoopbackPort().ToString(CultureInfo.InvariantCulture)}");
        var app = builder.Build();
        app.MapGet("/v1/models", () => Results.Text("""{"object":"list","data":[{"id":"up-model","object":"model","created":0,"owned_by":"bench"}]}""", "application/json"));
        app.MapPost("/v1/chat/completions", async (HttpContext http) =>
        {
            var request = await new StreamReader(http.Request.Body).ReadToEndAsync();
            if (!request.Contains("\"stream\":true", StringComparison.Ordinal))
            {
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync(CompletionJson);
                return;
            }

            http.Response.ContentType = "text/event-stream";
            var sb = new StringBuilder();
            for (var i = 0; i < 16; i++)
            {
                sb.Append("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up-model\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok \"},\"finish_reason\":null}]}\n\n");
            }

            sb.Append("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up-model\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
            if (request.Contains("\"include_usage\":true", StringComparison.Ordinal))
            {
                sb.Append("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up-model\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":16,\"total_tokens\":28}}\n\n");
            }

            sb.Append("data: [DONE]\n\n");
            await http.Response.WriteAsync(sb.ToString());
        });
        await app.StartAsync();
        return app;
    }

    private static async Task WaitForModelAsync(HttpClient client, string gatewayUrl)
    {
        var deadline = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                if ((await client.GetStringAsync(gatewayUrl + "/v1/models")).Contains("up-model", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("The gateway did not list the upstream's model within 60 s.");
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }
}
