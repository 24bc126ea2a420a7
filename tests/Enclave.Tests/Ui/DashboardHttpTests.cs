using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Enclave.Tests.Security.Auth;

namespace Enclave.Tests.Ui;

/// <summary>
/// Who may see the dashboard, over HTTP against a real gateway with keys: the sign-in page is all an outsider gets,
/// the sign-in cookie works only for GETs under /ui, and every /ui response carries the browser hardening headers.
/// </summary>
public sealed partial class DashboardHttpTests(DashboardGateway fixture) : IClassFixture<DashboardGateway>
{
    private const string ChatBody = """{"model":"chat","messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task Page_WithoutCredential_Is401SignInPageWithoutData()
    {
        using var response = await fixture.SendAsync(HttpMethod.Get, "/ui");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("action=\"/ui/login\"", body, StringComparison.Ordinal);
        Assert.Contains("name=\"key\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("dashboard.js", body, StringComparison.Ordinal);
        Assert.DoesNotContain("kpi-requests", body, StringComparison.Ordinal);
        AssertHardened(response, cacheable: false);
    }

    [Theory]
    [InlineData("/ui/api/live")]
    [InlineData("/ui/api/workers")]
    [InlineData("/ui/api/usage")]
    [InlineData("/ui/api/keys")]
    public async Task Api_WithoutCredential_Is401WithoutData(string path)
    {
        using var response = await fixture.SendAsync(HttpMethod.Get, path);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain("totals", body, StringComparison.Ordinal);
        Assert.DoesNotContain("rows", body, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Admin.Id, body, StringComparison.Ordinal);
        AssertHardened(response, cacheable: false);
    }

    [Fact]
    public async Task PageAndApi_WithKeyLackingAdminScope_Are403()
    {
        using var page = await fixture.SendAsync(HttpMethod.Get, "/ui", bearer: fixture.User.Key);
        using var live = await fixture.SendAsync(HttpMethod.Get, "/ui/api/live", bearer: fixture.User.Key);
        var pageBody = await page.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);
        Assert.Contains("lacks the admin scope", pageBody, StringComparison.Ordinal);
        Assert.DoesNotContain("kpi-requests", pageBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, live.StatusCode);
        Assert.DoesNotContain("totals", await live.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PageAndApi_WithAdminBearerKey_AnswerWithData()
    {
        using var page = await fixture.SendAsync(HttpMethod.Get, "/ui", bearer: fixture.Admin.Key);
        using var live = await fixture.SendAsync(HttpMethod.Get, "/ui/api/live?seconds=30", bearer: fixture.Admin.Key);
        using var keys = await fixture.SendAsync(HttpMethod.Get, "/ui/api/keys", bearer: fixture.Admin.Key);
        using var usage = await fixture.SendAsync(HttpMethod.Get, "/ui/api/usage?by=model&since=1h", bearer: fixture.Admin.Key);
        using var badUsage = await fixture.SendAsync(HttpMethod.Get, "/ui/api/usage?by=colour", bearer: fixture.Admin.Key);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("data-session=\"key\"", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        AssertHardened(page, cacheable: false);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        var snapshot = JsonDocument.Parse(await live.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(30, snapshot.GetProperty("series").GetProperty("time").GetArrayLength());
        Assert.Equal(0, snapshot.GetProperty("totals").GetProperty("requests").GetInt64());
        AssertHardened(live, cacheable: false);

        // The admin handlers run as they are: the same listing, the same grouping and the same parameter errors.
        Assert.Contains(fixture.Admin.Id, await keys.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("model", JsonDocument.Parse(await usage.Content.ReadAsStringAsync()).RootElement.GetProperty("by").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, badUsage.StatusCode);
    }

    [Fact]
    public async Task SignIn_WithAdminKey_Is303WithHttpOnlyStrictCookieLimitedToUi()
    {
        using var response = await fixture.SignInAsync(fixture.Admin.Key);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/ui", response.Headers.Location?.OriginalString);
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        var attributes = cookie.Split(';', StringSplitOptions.TrimEntries);
        Assert.Equal("enclave_ui=" + fixture.Admin.Key, attributes[0]);
        Assert.Contains("httponly", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("path=/ui", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", attributes, StringComparer.OrdinalIgnoreCase); // plain http here
    }

    [Fact]
    public async Task Cookie_OnGetsUnderUi_IsAccepted()
    {
        using var page = await fixture.SendAsync(HttpMethod.Get, "/ui", cookie: fixture.Admin.Key);
        using var live = await fixture.SendAsync(HttpMethod.Get, "/ui/api/live", cookie: fixture.Admin.Key);
        using var workers = await fixture.SendAsync(HttpMethod.Get, "/ui/api/workers", cookie: fixture.Admin.Key);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("data-session=\"cookie\"", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, workers.StatusCode);
        Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(await workers.Content.ReadAsStringAsync()).RootElement.GetProperty("workers").ValueKind);
    }

    [Fact]
    public async Task Cookie_OnChatCompletions_Is401()
    {
        using var response = await fixture.SendAsync(HttpMethod.Post, "/v1/chat/completions", cookie: fixture.Admin.Key,
            content: new StringContent(ChatBody, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("/v1/models")]
    [InlineData("/admin/workers")]
    [InlineData("/admin/usage")]
    [InlineData("/metrics")]
    [InlineData("/uix")]
    public async Task Cookie_OnGetsOutsideUi_Is401(string path)
    {
        using var response = await fixture.SendAsync(HttpMethod.Get, path, cookie: fixture.Admin.Key);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Cookie_OnNonGetUnderUi_IsNotAccepted()
    {
        using var withCookie = await fixture.SendAsync(HttpMethod.Post, "/ui/api/live", cookie: fixture.Admin.Key, content: new StringContent("{}", Encoding.UTF8, "application/json"));
        using var withKey = await fixture.SendAsync(HttpMethod.Post, "/ui/api/live", bearer: fixture.Admin.Key, content: new StringContent("{}", Encoding.UTF8, "application/json"));
        using var deleteWithCookie = await fixture.SendAsync(HttpMethod.Delete, "/ui/api/live", cookie: fixture.Admin.Key);

        Assert.Equal(HttpStatusCode.Unauthorized, withCookie.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, withKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, deleteWithCookie.StatusCode);
    }

    [Theory]
    [InlineData("enc_aaaaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("not a key")]
    [InlineData("")]
    public async Task SignIn_WithWrongKey_Is401SignInPageAndCountsAsAuthFailure(string key)
    {
        var before = await fixture.AuthRejectionsAsync();

        using var response = await fixture.SignInAsync(key);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Contains("not an active API key with the admin scope", body, StringComparison.Ordinal);
        Assert.Contains("action=\"/ui/login\"", body, StringComparison.Ordinal);
        AssertHardened(response, cacheable: false);
        await PollAsync(async () => await fixture.AuthRejectionsAsync() == before + 1, "enclave_auth_rejections_total to count the failed sign-in");
    }

    [Fact]
    public async Task SignIn_WithKeyLackingAdminScope_Is401AndAudited()
    {
        using var response = await fixture.SignInAsync(fixture.User.Key);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        var (code, audit, error) = await KeyCli.RunAsync(["audit", "export", "--data-dir", fixture.DataDir]);
        Assert.True(code == 0, error);
        var failures = audit.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("action").GetString() == "auth.failure" && r.GetProperty("target").GetString() == "POST /ui/login")
            .ToList();
        Assert.Contains(failures, r => r.GetRawText().Contains("scope admin", StringComparison.Ordinal));
        Assert.DoesNotContain(KeyCli.SecretOf(fixture.User.Key), audit, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://attacker.example", null)]
    [InlineData("null", "cross-site")]
    [InlineData(null, "same-site")]
    public async Task SignIn_FromAnotherSite_Is403WithoutCookie(string? origin, string? fetchSite)
    {
        using var response = await fixture.SignInAsync(fixture.Admin.Key, origin, fetchSite);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task SignIn_FromThePageItself_IsAcceptedDespiteNullOrigin()
    {
        // What a browser sends for the sign-in form under Referrer-Policy: no-referrer.
        using var response = await fixture.SignInAsync(fixture.Admin.Key, origin: "null", fetchSite: "same-origin");

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.StartsWith("enclave_ui=", Assert.Single(response.Headers.GetValues("Set-Cookie")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignOut_ExpiresTheCookieAndRedirects()
    {
        using var response = await fixture.SendAsync(HttpMethod.Post, "/ui/logout");

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/ui", response.Headers.Location?.OriginalString);
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("enclave_ui=;", cookie, StringComparison.Ordinal);
        Assert.Contains("expires=Thu, 01 Jan 1970", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/ui", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Cookie_OfRevokedKey_GetsSignInPageAndIsDropped()
    {
        using (var before = await fixture.SendAsync(HttpMethod.Get, "/ui", cookie: fixture.Revocable.Key))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using (var revoke = await fixture.SendAsync(HttpMethod.Delete, "/admin/keys/" + fixture.Revocable.Id, bearer: fixture.Admin.Key))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        using var page = await fixture.SendAsync(HttpMethod.Get, "/ui", cookie: fixture.Revocable.Key);
        using var live = await fixture.SendAsync(HttpMethod.Get, "/ui/api/live", cookie: fixture.Revocable.Key);

        Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);
        Assert.Contains("no longer valid", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.StartsWith("enclave_ui=;", Assert.Single(page.Headers.GetValues("Set-Cookie")), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, live.StatusCode);
    }

    [Fact]
    public async Task Assets_WithoutCredential_AreServedAndVersionedOnesCachedForGood()
    {
        using var signIn = await fixture.SendAsync(HttpMethod.Get, "/ui");
        var stylesheet = AssetUrl().Match(await signIn.Content.ReadAsStringAsync()).Groups[1].Value;

        using var css = await fixture.SendAsync(HttpMethod.Get, stylesheet);
        using var unversioned = await fixture.SendAsync(HttpMethod.Get, "/ui/assets/uplot.js");
        using var missing = await fixture.SendAsync(HttpMethod.Get, "/ui/assets/missing.js");

        Assert.StartsWith("/ui/assets/dashboard.css?v=", stylesheet, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        Assert.Equal("text/css", css.Content.Headers.ContentType?.MediaType);
        AssertHardened(css, cacheable: true);
        Assert.Equal(HttpStatusCode.OK, unversioned.StatusCode);
        Assert.Contains("uPlot", await unversioned.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("no-cache", unversioned.Headers.CacheControl?.ToString());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    private static void AssertHardened(HttpResponseMessage response, bool cacheable)
    {
        var csp = string.Join(",", response.Headers.GetValues("Content-Security-Policy"));
        Assert.StartsWith("default-src 'self';", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self';", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        var cache = response.Headers.CacheControl?.ToString();
        if (cacheable)
        {
            Assert.Equal("public, max-age=31536000, immutable", cache);
        }
        else
        {
            Assert.Equal("no-store", cache);
        }
    }

    private static async Task PollAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "Timed out waiting for " + what);
            await Task.Delay(50);
        }
    }

    [GeneratedRegex("href=\"(/ui/assets/dashboard\\.css\\?v=[0-9a-f]+)\"")]
    private static partial Regex AssetUrl();
}
