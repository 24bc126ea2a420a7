using System.Buffers.Binary;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Enclave.Tests.Infrastructure;
using Enclave.Tests.Security.Auth;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Enclave.Tests.Ui;

/// <summary>
/// The dashboard in a real headless Chromium against a real gateway and model: sign in with an admin key, send
/// traffic, and watch the page show exactly that traffic, with no console error and no failed request on the way.
/// Leaves <c>dashboard.png</c> and <c>dashboard-login.png</c> in <see cref="HeadlessBrowser.ScreenshotDir"/>.
/// </summary>
public sealed class DashboardBrowserTests
{
    private static readonly LocatorAssertionsToHaveTextOptions Soon = new() { Timeout = 30_000 };

    [Fact]
    public async Task Dashboard_SignInThenTraffic_ShowsExactCountsAndDrawsCharts()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "enclave-ui-browser-" + Guid.NewGuid().ToString("N"));
        var admin = await KeyCli.CreateAsync(dataDir, "ops", "--scopes", "admin");
        var app = await KeyCli.CreateAsync(dataDir, "app");
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("chat", TestModels.StoriesChat)], dataDir: dataDir);
        await using var browser = await HeadlessBrowser.LaunchAsync();
        var page = await browser.NewPageAsync();
        var problems = new List<string>();
        var signedIn = false;

        // The only refusal expected is the sign-in page itself, answered 401 before signing in; Chromium reports that
        // status in the console too.
        bool IsSignInRefusal(int status, string method, string url) =>
            !signedIn && status == 401 && method == "GET" && new Uri(url).AbsolutePath == "/ui";
        var signInUrl = new Uri(gateway.BaseUrl, "/ui").ToString();
        page.Console += (_, message) =>
        {
            var expected = !signedIn
                && message.Text.StartsWith("Failed to load resource: the server responded with a status of 401", StringComparison.Ordinal)
                && (message.Location == signInUrl || message.Location.StartsWith(signInUrl + ":", StringComparison.Ordinal));
            if (message.Type == "error" && !expected)
            {
                problems.Add("console: " + message.Text + " at " + message.Location);
            }
        };
        page.PageError += (_, error) => problems.Add("page error: " + error);
        page.RequestFailed += (_, request) => problems.Add($"request failed: {request.Method} {request.Url} {request.Failure}");
        page.Response += (_, response) =>
        {
            if (response.Status >= 400 && !IsSignInRefusal(response.Status, response.Request.Method, response.Url))
            {
                problems.Add($"HTTP {response.Status}: {response.Request.Method} {response.Url}");
            }
        };

        var first = await page.GotoAsync(new Uri(gateway.BaseUrl, "/ui").ToString());
        Assert.Equal(401, first!.Status);
        await Expect(page.Locator("form.login")).ToBeVisibleAsync();
        await Expect(page.Locator("#kpi-requests")).ToHaveCountAsync(0);
        await page.ScreenshotAsync(new() { Path = Path.Combine(HeadlessBrowser.ScreenshotDir, "dashboard-login.png") });

        await page.FillAsync("#key", admin.Key);
        await page.ClickAsync("form.login button[type=submit]");
        signedIn = true;
        await Expect(page.Locator("#kpi-requests")).ToHaveTextAsync("0", Soon);
        await Expect(page.Locator("#status")).ToHaveClassAsync(new Regex("\\blive\\b"), new() { Timeout = 30_000 });

        // Five completions (two streamed) and one for a model that does not exist.
        var sent = 0;
        for (var i = 0; i < 5; i++)
        {
            var stream = i % 2 == 1 ? ""","stream":true,"stream_options":{"include_usage":true}""" : "";
            await SendAsync(gateway, app.Key, $$"""{"model":"chat","messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":{{8 + (4 * i)}}{{stream}}}""", 200);
            sent++;
        }

        await SendAsync(gateway, app.Key, """{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}""", 404);
        sent++;

        await Expect(page.Locator("#kpi-requests")).ToHaveTextAsync(sent.ToString(System.Globalization.CultureInfo.InvariantCulture), Soon);
        await page.WaitForFunctionAsync(
            "() => ['throughput', 'latency', 'tokens', 'load'].every(n => Number(document.getElementById('chart-' + n).dataset.points) > 0)",
            null,
            new() { Timeout = 30_000 });
        await Expect(page.Locator("#chart-throughput canvas")).ToHaveCountAsync(1);
        await Expect(page.Locator("#chart-throughput .empty")).ToBeHiddenAsync();
        await Expect(page.Locator("#workers tbody")).ToContainTextAsync("ready", new() { Timeout = 30_000 });
        await Expect(page.Locator("#usage-key tbody")).ToContainTextAsync("app (" + app.Id + ")", new() { Timeout = 30_000 });
        await Expect(page.Locator("#usage-model tbody")).ToContainTextAsync("no-such-model", new() { Timeout = 30_000 });

        // The request series is drawn in its own colour (#5b9dff), which nothing else on that canvas uses.
        var seriesPixels = await page.EvaluateAsync<int>("""
            () => {
              const canvas = document.querySelector('#chart-throughput canvas');
              const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
              let n = 0;
              for (let i = 0; i < pixels.length; i += 4) {
                if (pixels[i + 3] > 200 && Math.abs(pixels[i] - 91) < 12 && Math.abs(pixels[i + 1] - 157) < 12 && Math.abs(pixels[i + 2] - 255) < 12) { n++; }
              }
              return n;
            }
            """);
        Assert.True(seriesPixels > 20, $"the requests line should be drawn; {seriesPixels} pixels of its colour");

        var screenshot = Path.Combine(HeadlessBrowser.ScreenshotDir, "dashboard.png");
        await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        AssertPlausibleScreenshot(await File.ReadAllBytesAsync(screenshot));
        Assert.Empty(problems);
        Directory.Delete(dataDir, recursive: true);
    }

    private static async Task SendAsync(GatewayProcess gateway, string key, string body, int expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await gateway.Http.SendAsync(request);
        await response.Content.ReadAsStringAsync();
        Assert.Equal(expected, (int)response.StatusCode);
    }

    /// <summary>A real PNG of at least the viewport's size, tens of KB, whose pixels are far from uniform.</summary>
    private static void AssertPlausibleScreenshot(byte[] png)
    {
        Assert.True(png.Length > 40_000, $"screenshot is only {png.Length} bytes");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        Assert.Equal("IHDR", Encoding.ASCII.GetString(png, 12, 4));
        var width = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16));
        var height = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20));
        Assert.Equal(1440, width);
        Assert.True(height >= 900, $"height {height}");

        using var idat = new MemoryStream();
        for (var offset = 8; offset < png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            if (Encoding.ASCII.GetString(png, offset + 4, 4) == "IDAT")
            {
                idat.Write(png, offset + 8, length);
            }

            offset += 12 + length;
        }

        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(idat, CompressionMode.Decompress))
        {
            zlib.CopyTo(inflated);
        }

        // Rows are filtered, so a uniform picture inflates to a handful of byte values; a dashboard to nearly all 256.
        var distinct = inflated.ToArray().Distinct().Count();
        Assert.True(distinct > 200, $"screenshot looks uniform: {distinct} distinct byte values");
    }
}
