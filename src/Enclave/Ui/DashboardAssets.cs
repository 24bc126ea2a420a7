using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using Enclave.Ui.Assets;
using Enclave.Web;

namespace Enclave.Ui;

/// <summary>
/// The files the dashboard serves under <c>/ui/assets/</c>, all compiled into the executable (no network, no
/// disk). Each URL carries a content hash (<c>?v=</c>), so a browser may cache it for a year and still never runs a
/// stale script after an upgrade. Immutable after construction; thread-safe.
/// </summary>
internal sealed class DashboardAssets
{
    private readonly FrozenDictionary<string, Asset> _assets;
    private readonly string _dashboard;
    private readonly string _login;

    public DashboardAssets()
    {
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal)
        {
            ["dashboard.js"] = Asset.Of(DashboardScript.Js, "text/javascript; charset=utf-8"),
            ["dashboard.css"] = Asset.Of(DashboardStyles.Css, "text/css; charset=utf-8"),
            ["uplot.js"] = Asset.Of(WebAssets.UPlotJs, "text/javascript; charset=utf-8"),
            ["uplot.css"] = Asset.Of(WebAssets.UPlotCss, "text/css; charset=utf-8"),
            ["icon.svg"] = Asset.Of(DashboardIcon.Svg, "image/svg+xml"),
        };
        _assets = assets.ToFrozenDictionary(StringComparer.Ordinal);
        _dashboard = WithAssetUrls(DashboardPage.Html);
        _login = WithAssetUrls(LoginPage.Html);
    }

    public bool TryGet(string name, out Asset asset) => _assets.TryGetValue(name, out asset!);

    /// <summary>The dashboard document for a caller authenticated by <paramref name="session"/> (cookie, key or anonymous).</summary>
    public string Dashboard(string session) => _dashboard.Replace("{{session}}", session, StringComparison.Ordinal);

    /// <summary>The sign-in document, with <paramref name="message"/> (plain text, encoded here) shown above the form.</summary>
    public string Login(string? message) => _login.Replace(
        "{{message}}",
        message is null ? "" : "<div class=\"error\" role=\"alert\">" + System.Net.WebUtility.HtmlEncode(message) + "</div>",
        StringComparison.Ordinal);

    private string WithAssetUrls(string html)
    {
        foreach (var (name, asset) in _assets)
        {
            html = html.Replace("{{asset:" + name + "}}", "/ui/assets/" + name + "?v=" + asset.Version, StringComparison.Ordinal);
        }

        return html;
    }

    /// <summary>One served file: its bytes, media type and content hash.</summary>
    internal sealed record Asset(ReadOnlyMemory<byte> Content, string ContentType, string Version)
    {
        public static Asset Of(string text, string contentType)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            return new Asset(bytes, contentType, Convert.ToHexStringLower(SHA256.HashData(bytes))[..12]);
        }
    }
}
