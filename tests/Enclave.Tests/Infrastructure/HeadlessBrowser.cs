using Microsoft.Playwright;

namespace Enclave.Tests.Infrastructure;

/// <summary>
/// A real headless Chromium (Debian's <c>chromium</c> package, installed by <c>.ci/run</c>) driven by Playwright.
/// <c>ENCLAVE_TEST_CHROMIUM</c> points at another binary. A missing browser fails the test with the reason.
/// </summary>
public sealed class HeadlessBrowser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;

    private HeadlessBrowser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    /// <summary>Folder where screenshot tests leave their PNGs (under the test output, kept for inspection).</summary>
    public static string ScreenshotDir
    {
        get
        {
            var dir = Path.Combine(AppContext.BaseDirectory, "screenshots");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("ENCLAVE_TEST_CHROMIUM") is { Length: > 0 } custom ? custom : "/usr/bin/chromium";

    public static async Task<HeadlessBrowser> LaunchAsync()
    {
        var path = ExecutablePath;
        Assert.True(File.Exists(path), $"Chromium not found at {path}: install the Debian package 'chromium' (.ci/run does) or set ENCLAVE_TEST_CHROMIUM.");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = path,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            });
            return new HeadlessBrowser(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A fresh page in its own context (no shared cookies) at a desktop size.</summary>
    public async Task<IPage> NewPageAsync(BrowserNewContextOptions? options = null)
    {
        var context = await Browser.NewContextAsync(options ?? new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1440, Height = 900 } });
        return await context.NewPageAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
