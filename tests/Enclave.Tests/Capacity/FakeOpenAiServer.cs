using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Enclave.Tests.Capacity;

/// <summary>
/// A second OpenAI-compatible server for the load generator: real Kestrel on a loopback port in the test process,
/// speaking OpenAI's SSE framing, with behaviour chosen by the model name:
/// <list type="bullet">
/// <item><c>ttft250-itl40-n12</c>: the first text chunk 250 ms after the request, then one every 40 ms, 12 in
/// all, each due at an absolute time from the request's arrival (so one late timer does not shift the rest); add
/// <c>-usage</c> to send a usage chunk (otherwise none, so the client must count chunks);</item>
/// <item><c>error503</c>: HTTP 503 with OpenAI's error envelope; <c>flaky3</c>: every third request 500;</item>
/// <item><c>midstream2</c>: two text chunks, then <c>data: {"error":...}</c>;</item>
/// <item><c>truncate2</c>: two text chunks, then the response ends without a finish reason or [DONE];</item>
/// <item><c>reset2</c>: two text chunks, then the connection is reset;</item>
/// <item><c>stall</c>: headers, then nothing.</item>
/// </list>
/// Timed models may add <c>-batch4</c> (like a batching server with 4 free slots: every delay grows by n ÷ 4 once n
/// requests are in flight) and <c>-jitter</c> (each delay varies by up to ±30%, seeded by the request number).
/// Non-streamed requests get a whole answer with usage (prompt tokens = words + 5). Records every request body.
/// </summary>
public sealed class FakeOpenAiServer : IAsyncDisposable
{
    private static readonly System.Buffers.SearchValues<char> Digits = System.Buffers.SearchValues.Create("0123456789");

    private const string ArrivedKey = "arrived";

    private readonly WebApplication _app;
    private int _requests;
    private int _inFlight;

    private FakeOpenAiServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public int Requests => Volatile.Read(ref _requests);

    public ConcurrentQueue<JsonElement> Bodies { get; } = new();

    public ConcurrentQueue<string?> Authorizations { get; } = new();

    public static async Task<FakeOpenAiServer> StartAsync()
    {
        // The server shares the test process with everything else the suite left running; enough ready pool threads
        // keep its injected delays on time, so the timing test measures the client, not the pool's warm-up.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(io, 32));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        // Injected delays count from the moment the request reaches the pipeline, before routing and body parsing.
        app.Use((context, next) =>
        {
            context.Items[ArrivedKey] = Stopwatch.GetTimestamp();
            return next(context);
        });
        FakeOpenAiServer? server = null;
        app.MapPost("/v1/chat/completions", (HttpContext http) => server!.HandleAsync(http, chat: true));
        app.MapPost("/v1/completions", (HttpContext http) => server!.HandleAsync(http, chat: false));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new FakeOpenAiServer(app, new Uri(address));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext http, bool chat)
    {
        var arrived = (long)http.Items[ArrivedKey]!;
        var count = Interlocked.Increment(ref _requests);
        using var document = await JsonDocument.ParseAsync(http.Request.Body);
        var body = document.RootElement.Clone();
        Bodies.Enqueue(body);
        Authorizations.Enqueue(http.Request.Headers.Authorization.FirstOrDefault());
        var model = body.GetProperty("model").GetString()!;
        var stream = body.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var prompt = chat ? string.Join(" ", body.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").GetString())) : body.GetProperty("prompt").GetString()!;
        var promptTokens = prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length + 5;
        if (model == "error503" || (model == "flaky3" && count % 3 == 0))
        {
            http.Response.StatusCode = model == "error503" ? 503 : 500;
            http.Response.Headers.RetryAfter = "1";
            await http.Response.WriteAsJsonAsync(new { error = new { message = "the fake server is overloaded", type = "server_error", code = "overloaded" } });
            return;
        }

        if (!stream)
        {
            await http.Response.WriteAsJsonAsync(new
            {
                id = "cmpl-1",
                choices = new[] { new { index = 0, message = new { role = "assistant", content = "ok" }, finish_reason = "stop" } },
                usage = new { prompt_tokens = promptTokens, completion_tokens = 1, total_tokens = promptTokens + 1 },
            });
            return;
        }

        var (ttft, itl, tokens, usage) = Timing(model);
        var inFlight = Interlocked.Increment(ref _inFlight);
        try
        {
            await StreamAsync(http, chat, model, arrived, count, inFlight, promptTokens, ttft, itl, tokens, usage);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static async Task StreamAsync(HttpContext http, bool chat, string model, long arrived, int count, int inFlight, int promptTokens, double ttft, double itl, int tokens, bool usage)
    {
        var batch = model.Split('-').FirstOrDefault(p => p.StartsWith("batch", StringComparison.Ordinal)) is { } b ? int.Parse(b[5..], CultureInfo.InvariantCulture) : 0;
        var slowdown = batch > 0 ? Math.Max(1.0, (double)inFlight / batch) : 1.0;
        var random = model.Contains("-jitter", StringComparison.Ordinal) ? new Random(count) : null;
        double Jitter() => random is null ? 1.0 : 0.7 + (0.6 * random.NextDouble());
        ttft *= slowdown * Jitter();
        var schedule = new double[Math.Max(tokens, 1)];
        for (var k = 0; k < schedule.Length; k++)
        {
            schedule[k] = k == 0 ? ttft : schedule[k - 1] + (itl * slowdown * Jitter());
        }
        http.Response.ContentType = "text/event-stream";
        await http.Response.StartAsync();
        var ct = http.RequestAborted;
        if (chat)
        {
            await WriteAsync(http, Chunk(chat, role: true, "", null), ct);
        }

        if (model == "stall")
        {
            await Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        var limit = model.StartsWith("midstream", StringComparison.Ordinal) || model.StartsWith("truncate", StringComparison.Ordinal) || model.StartsWith("reset", StringComparison.Ordinal)
            ? int.Parse(model.AsSpan(model.IndexOfAny(Digits)), CultureInfo.InvariantCulture)
            : tokens;
        for (var k = 0; k < limit; k++)
        {
            // Each chunk is due at an absolute time from arrival: ttft + k * itl without batching or jitter.
            var due = TimeSpan.FromMilliseconds(schedule[Math.Min(k, schedule.Length - 1)]) - Stopwatch.GetElapsedTime(arrived);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, ct);
            }

            await WriteAsync(http, Chunk(chat, role: false, $"t{k} ", null), ct);
        }

        if (model.StartsWith("midstream", StringComparison.Ordinal))
        {
            await WriteAsync(http, """{"error":{"message":"the fake worker died","type":"server_error","code":"worker_crashed"}}""", ct);
            return;
        }

        if (model.StartsWith("truncate", StringComparison.Ordinal))
        {
            // The response ends cleanly, but with neither a finish reason nor [DONE].
            return;
        }

        if (model.StartsWith("reset", StringComparison.Ordinal))
        {
            http.Abort();
            return;
        }

        await WriteAsync(http, Chunk(chat, role: false, null, "length"), ct);
        if (usage)
        {
            await WriteAsync(http, JsonSerializer.Serialize(new { id = "x", choices = Array.Empty<object>(), usage = new { prompt_tokens = promptTokens, completion_tokens = tokens, total_tokens = promptTokens + tokens } }), ct);
        }

        await http.Response.WriteAsync("data: [DONE]\n\n", ct);
        await http.Response.Body.FlushAsync(ct);
    }

    /// <summary>Parses <c>ttft250-itl40-n12[-usage]</c>; other names get short defaults.</summary>
    public static (double TtftMs, double ItlMs, int Tokens, bool Usage) Timing(string model)
    {
        double ttft = 5, itl = 2;
        var tokens = 4;
        var usage = false;
        foreach (var part in model.Split('-'))
        {
            if (part.StartsWith("ttft", StringComparison.Ordinal))
            {
                ttft = double.Parse(part[4..], CultureInfo.InvariantCulture);
            }
            else if (part.StartsWith("itl", StringComparison.Ordinal))
            {
                itl = double.Parse(part[3..], CultureInfo.InvariantCulture);
            }
            else if (part.StartsWith('n') && part.Length > 1 && char.IsAsciiDigit(part[1]))
            {
                tokens = int.Parse(part[1..], CultureInfo.InvariantCulture);
            }
            else if (part == "usage")
            {
                usage = true;
            }
        }

        return (ttft, itl, tokens, usage);
    }

    private static string Chunk(bool chat, bool role, string? text, string? finish)
    {
        var choice = chat
            ? (object)new { index = 0, delta = role ? new { role = "assistant", content = text } : (object)new { content = text }, finish_reason = finish }
            : new { index = 0, text = text ?? "", finish_reason = finish };
        return JsonSerializer.Serialize(new { id = "chatcmpl-fake", @object = chat ? "chat.completion.chunk" : "text_completion", choices = new[] { choice } });
    }

    private static async Task WriteAsync(HttpContext http, string json, CancellationToken ct)
    {
        await http.Response.WriteAsync("data: " + json + "\n\n", Encoding.UTF8, ct);
        await http.Response.Body.FlushAsync(ct);
    }
}
