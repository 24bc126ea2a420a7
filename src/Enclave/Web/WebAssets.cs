namespace Enclave.Web;

/// <summary>
/// Static assets embedded in the executable: uPlot (fetched and integrity-checked at build time by
/// <c>build/WebAssetsFetch.targets</c>) for the dashboard and the HTML reports.
/// </summary>
public static class WebAssets
{
    private static readonly Lazy<string> Script = new(() => Read("Enclave.Web.uPlot.js"));
    private static readonly Lazy<string> Stylesheet = new(() => Read("Enclave.Web.uPlot.css"));

    /// <summary>uPlot's minified IIFE build; defines the global <c>uPlot</c>.</summary>
    public static string UPlotJs => Script.Value;

    /// <summary>uPlot's minified stylesheet.</summary>
    public static string UPlotCss => Stylesheet.Value;

    /// <summary>Reads an embedded resource of the enclave assembly as UTF-8 text.</summary>
    public static string Read(string logicalName)
    {
        using var stream = typeof(WebAssets).Assembly.GetManifestResourceStream(logicalName)
            ?? throw new InvalidOperationException($"Embedded resource {logicalName} is missing from the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
