using System.Diagnostics;
using Enclave.Capacity.Bench;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Capacity;

/// <summary>Every kind of failure is counted per level with its kind; the run goes on and measures what succeeded.</summary>
public sealed class BenchErrorTests : IAsyncLifetime
{
    private FakeOpenAiServer _server = null!;

    public async Task InitializeAsync() => _server = await FakeOpenAiServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static List<BenchPrompt> Prompts(int count) =>
        Enumerable.Range(0, count).Select(i => new BenchPrompt { Text = $"prompt number {i}", MaxTokens = 4 }).ToList();

    private static async Task<LevelResult> RunAsync(Uri url, string model, int requests, TimeSpan? timeout = null, BenchEndpoint endpoint = BenchEndpoint.Chat)
    {
        var settings = new BenchSettings
        {
            Target = new BenchTarget(BenchTarget.ParseUrl(url.ToString()), model, "test-key", endpoint),
            Levels = [new LoadLevel(LoadKind.Concurrency, 2)],
            Requests = requests,
            Warmup = 0,
            Timeout = timeout ?? TimeSpan.FromSeconds(20),
        };
        using var client = new StreamingClient(settings.Target, settings.Timeout);
        var run = await new BenchRunner(settings, Prompts(requests), client).RunLevelAsync(0, null, CancellationToken.None);
        return BenchAnalysis.Analyze(run, null);
    }

    [Theory]
    [InlineData("error503", "http_503", "overloaded")]
    [InlineData("midstream2", "stream_error", "the fake worker died")]
    [InlineData("truncate2", "incomplete", "without a finish reason")]
    [InlineData("reset2", "connection_error", "")]
    public async Task Run_FailingServer_CountsEveryRequestAsItsErrorKind(string model, string kind, string message)
    {
        var level = await RunAsync(_server.Url, model, requests: 6);

        Assert.Equal((6, 0, 6), (level.Requests.Sent, level.Requests.Succeeded, level.Requests.Failed));
        Assert.Equal(new Dictionary<string, int> { [kind] = 6 }, level.Requests.Errors);
        Assert.StartsWith(kind + ": ", level.Requests.FirstErrors[0]);
        Assert.Contains(message, level.Requests.FirstErrors[0]);
        Assert.Equal(0, level.Throughput.OutputTokensPerS);
    }

    [Fact]
    public async Task Run_EveryThirdRequestFails_CountsThemAndMeasuresTheRest()
    {
        var level = await RunAsync(_server.Url, "flaky3", requests: 9);

        Assert.Equal((9, 6, 3), (level.Requests.Sent, level.Requests.Succeeded, level.Requests.Failed));
        Assert.Equal(3, level.Requests.Errors["http_500"]);
        Assert.Equal(6, level.E2eMs.Count);
        Assert.Equal(4, level.OutputTokens.Mean);
        Assert.All(_server.Authorizations, a => Assert.Equal("Bearer test-key", a));
    }

    [Fact]
    public async Task Run_ServerStalls_CountsTimeoutsAfterTheLimit()
    {
        var watch = Stopwatch.StartNew();
        var level = await RunAsync(_server.Url, "stall", requests: 4, timeout: TimeSpan.FromMilliseconds(400));

        Assert.Equal(new Dictionary<string, int> { ["timeout"] = 4 }, level.Requests.Errors);
        Assert.InRange(watch.Elapsed.TotalSeconds, 0.7, 10);
    }

    [Fact]
    public async Task Run_NothingListens_CountsConnectionRefused()
    {
        var closed = new Uri($"http://127.0.0.1:{GatewayProcess.FreeTcpPort()}");

        var level = await RunAsync(closed, "any", requests: 3);

        Assert.Equal(new Dictionary<string, int> { ["connection_refused"] = 3 }, level.Requests.Errors);
    }

    [Fact]
    public async Task Run_CompletionsEndpointWithoutUsage_CountsTokensFromChunks()
    {
        var level = await RunAsync(_server.Url, "ttft5-itl2-n7", requests: 4, endpoint: BenchEndpoint.Completions);

        Assert.Equal(0, level.Requests.Failed);
        Assert.False(level.UsageReported);
        Assert.Equal(7, level.OutputTokens.Mean);
        Assert.Equal(0, level.InputTokens.Count);
        Assert.All(_server.Bodies, b => Assert.StartsWith("prompt number", b.GetProperty("prompt").GetString()));
    }

    [Fact]
    public async Task Run_ServerSendsUsage_TakesTokenCountsFromIt()
    {
        var level = await RunAsync(_server.Url, "ttft5-itl2-n5-usage", requests: 4);

        Assert.True(level.UsageReported);
        Assert.Equal(5, level.OutputTokens.Mean);
        Assert.Equal(3 + 5, level.InputTokens.Mean);
        Assert.Equal(4 * 4, level.ItlMs.Count);
    }
}
