using Enclave.Capacity;
using Enclave.Capacity.Bench;
using Enclave.Capacity.Hardware;
using Enclave.Capacity.Plan;
using Enclave.Capacity.Reports;
using Enclave.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Enclave.Tests.Capacity;

/// <summary>
/// The HTML reports in a real headless Chromium, opened from disk with no network: no console errors, every chart
/// drawn (its canvas holds coloured series pixels, not only grey axes), and a full-page screenshot left in
/// <see cref="HeadlessBrowser.ScreenshotDir"/> for a person to look at.
/// </summary>
public sealed class CapacityReportBrowserTests(CapacityReportBrowserTests.Fixture fixture) : IClassFixture<CapacityReportBrowserTests.Fixture>
{
    // Counts pixels of clearly coloured (saturated) ink per canvas: series lines, not the grey axes and grid.
    private const string ColouredPixels = """
        () => Array.from(document.querySelectorAll('canvas')).map(c => {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) {
            const max = Math.max(d[i], d[i + 1], d[i + 2]), min = Math.min(d[i], d[i + 1], d[i + 2]);
            if (d[i + 3] > 200 && max - min > 90) n++;
          }
          return n;
        })
        """;

    private static readonly int[] Sweep = [1, 2, 4, 8, 16];

    private static async Task<BenchResult> BenchAsync(FakeOpenAiServer server)
    {
        var settings = new BenchSettings
        {
            Target = new BenchTarget(BenchTarget.ParseUrl(server.Url.ToString()), "ttft40-itl6-n16-usage-batch4-jitter", null, BenchEndpoint.Chat),
            Levels = Sweep.Select(c => new LoadLevel(LoadKind.Concurrency, c)).ToList(),
            Requests = 24,
            Warmup = 1,
            Slo = new BenchSlo(TtftMs: 120, TpotMs: 14, E2eMs: null),
        };
        var source = new PromptSourceSpec { InputTokens = TokenDistribution.Parse("64-256", "--input-tokens"), OutputTokens = TokenDistribution.Fixed(16) };
        return await new BenchSession(settings, source, TimeProvider.System).RunAsync(null, CancellationToken.None);
    }

    private async Task<(int[] Pixels, List<string> Errors)> OpenAsync(string html, string screenshot, int charts)
    {
        var path = Path.Combine(CapacityCli.TempDir(), "report.html");
        await File.WriteAllTextAsync(path, html);
        var page = await fixture.Browser.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                errors.Add($"{message.Type}: {message.Text}");
            }
        };
        page.PageError += (_, error) => errors.Add("page error: " + error);
        page.RequestFailed += (_, request) => errors.Add("request failed: " + request.Url);
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith("file://", StringComparison.Ordinal))
            {
                errors.Add("network request: " + request.Url);
            }
        };
        await page.GotoAsync(new Uri(path).AbsoluteUri);
        await page.WaitForFunctionAsync($"() => window.reportReady && window.reportReady.charts === {charts}", null, new PageWaitForFunctionOptions { Timeout = 20_000 });
        var pixels = await page.EvaluateAsync<int[]>(ColouredPixels);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(HeadlessBrowser.ScreenshotDir, screenshot), FullPage = true });
        return (pixels, errors);
    }

    [Fact]
    public async Task BenchReport_InChromium_DrawsEveryChartWithoutErrors()
    {
        var result = fixture.Bench;

        var (pixels, errors) = await OpenAsync(BenchHtmlReport.Render(result), "bench-report.png", charts: 6);

        Assert.Empty(errors);
        Assert.Equal(6, pixels.Length);
        Assert.All(pixels, n => Assert.True(n > 300, $"a chart has only {n} coloured pixels: {string.Join(", ", pixels)}"));
        // The fake server batches 4 requests for free and slows down beyond: the knee is found inside the sweep.
        Assert.NotNull(result.Summary.Knee);
        Assert.InRange(result.Summary.Knee!.Value, 2, 8);
    }

    [Fact]
    public async Task PlanReport_InChromium_DrawsMemoryBarsAndReplicaCharts()
    {
        var bench = fixture.Bench;
        var model = ModelMemory.Read(SyntheticGguf.Write(SyntheticGguf.Llama3_8B));
        string[] names = ["nvidia-h100-sxm", "nvidia-l40s", "nvidia-a10", "nvidia-l4", "desktop-ddr5-dual"];
        var fits = names.Select(n => SizingCalculator.Fit(model, KvCacheType.F16, KvCacheType.F16, 8192, HardwareProfiles.Find(n, new CapacityOptions()), 2048)).ToList();
        fits.Add(SizingCalculator.Fit(model, KvCacheType.F16, KvCacheType.F16, 8192, new HardwareProfile { Name = "edge-8gb", Kind = "gpu", MemoryGiB = 8, BandwidthGBps = 272, ReservedGiB = 1 }, 2048));
        fits.Add(SizingCalculator.Fit(model, KvCacheType.F16, KvCacheType.F16, 8192, new HardwareProfile { Name = "laptop-4gb", Kind = "gpu", MemoryGiB = 4, BandwidthGBps = 192, ReservedGiB = 0.5 }, 2048));
        var plan = new PlanResult
        {
            CreatedAt = TimeProvider.System.GetUtcNow(),
            Model = model,
            KvCache = new KvCacheInfo("f16", "f16", 8192, model.KvBytesPerToken(KvCacheType.F16, KvCacheType.F16), model.KvBytesPerToken(KvCacheType.F16, KvCacheType.F16) * 8192),
            Hardware = fits,
            Replicas = ReplicaPlanner.Plan(ServiceCurve.FromBench(bench), new ReplicaTarget(40, 1500, 300), null, Balancer.Least, 4000, 1),
            Assumptions = SizingCalculator.Assumptions,
        };

        var (pixels, errors) = await OpenAsync(PlanHtmlReport.Render(plan), "plan-report.png", charts: 2);

        Assert.Empty(errors);
        Assert.Equal(2, pixels.Length);
        Assert.All(pixels, n => Assert.True(n > 200, $"a chart has only {n} coloured pixels: {string.Join(", ", pixels)}"));
        Assert.NotNull(plan.Replicas!.Needed);
        Assert.False(fits[^1].Fits);
        Assert.True(fits[0].MaxSequences > fits[3].MaxSequences);
    }

    /// <summary>One bench run against the fake server and one browser, shared by both reports.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public BenchResult Bench { get; private set; } = null!;

        public HeadlessBrowser Browser { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            await using (var server = await FakeOpenAiServer.StartAsync())
            {
                Bench = await BenchAsync(server);
            }

            Browser = await HeadlessBrowser.LaunchAsync();
        }

        public async Task DisposeAsync() => await Browser.DisposeAsync();
    }
}
