namespace Enclave.Ui.Assets;

/// <summary>The dashboard's mark, also its favicon (served as <c>/ui/assets/icon.svg</c>).</summary>
internal static class DashboardIcon
{
    public const string Svg = """
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#1b2330"/><path d="M9 9h14M9 16h10M9 23h14M9 9v14" stroke="#5b9dff" stroke-width="3" stroke-linecap="round" fill="none"/><circle cx="23" cy="16" r="2.5" fill="#3ecf8e"/></svg>
""";
}
