namespace Enclave.Ui.Assets;

/// <summary>The stylesheet of the dashboard and its sign-in page (served as <c>/ui/assets/dashboard.css</c>).</summary>
internal static class DashboardStyles
{
    public const string Css = """
:root {
  --bg: #0d1016;
  --panel: #151a22;
  --panel-2: #1b212b;
  --line: #252c38;
  --text: #e6e9ef;
  --muted: #8d96a6;
  --faint: #5d6677;
  --blue: #5b9dff;
  --green: #3ecf8e;
  --red: #ff5d5d;
  --amber: #f5b84b;
  --purple: #b48cff;
  --teal: #38c6d9;
  --radius: 10px;
  color-scheme: dark;
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); }
body {
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  -webkit-font-smoothing: antialiased;
}
.num, .kpi .value, td.n { font-variant-numeric: tabular-nums; }

/* top bar */
.topbar {
  position: sticky; top: 0; z-index: 10;
  display: flex; align-items: center; gap: 18px;
  padding: 12px 24px;
  background: rgba(13, 16, 22, 0.92);
  border-bottom: 1px solid var(--line);
  backdrop-filter: blur(6px);
}
.brand { display: flex; align-items: center; gap: 10px; font-weight: 650; font-size: 16px; letter-spacing: 0.2px; }
.brand img { width: 22px; height: 22px; }
.brand .sub { color: var(--muted); font-weight: 450; }
.status { display: flex; align-items: center; gap: 8px; color: var(--muted); font-size: 13px; }
.status .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--faint); }
.status.live .dot { background: var(--green); box-shadow: 0 0 0 0 rgba(62, 207, 142, 0.6); animation: pulse 2s infinite; }
.status.stale .dot { background: var(--amber); }
.status.down .dot { background: var(--red); }
@keyframes pulse { 0% { box-shadow: 0 0 0 0 rgba(62, 207, 142, 0.55); } 70% { box-shadow: 0 0 0 7px rgba(62, 207, 142, 0); } 100% { box-shadow: 0 0 0 0 rgba(62, 207, 142, 0); } }
.spacer { flex: 1; }
.range { display: inline-flex; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 2px; }
.range button, .logout button {
  font: inherit; font-size: 13px; color: var(--muted); background: transparent; border: 0;
  padding: 4px 12px; border-radius: 6px; cursor: pointer;
}
.range button:hover, .logout button:hover { color: var(--text); }
.range button.active { background: var(--panel-2); color: var(--text); box-shadow: inset 0 0 0 1px var(--line); }
.logout { margin: 0; }
.logout button { border: 1px solid var(--line); }
body:not([data-session="cookie"]) .logout { display: none; }

main { padding: 20px 24px 8px; max-width: 1680px; margin: 0 auto; }
h2 { margin: 0; font-size: 13px; font-weight: 600; color: var(--text); letter-spacing: 0.2px; }
h2 .unit { color: var(--muted); font-weight: 450; margin-left: 6px; }

/* KPI tiles */
.kpis { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 14px; margin-bottom: 14px; }
.kpi {
  background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius);
  padding: 14px 16px 12px; position: relative; overflow: hidden;
}
.kpi::before { content: ""; position: absolute; left: 0; top: 0; bottom: 0; width: 3px; background: var(--accent, var(--blue)); opacity: 0.85; }
.kpi .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.6px; }
.kpi .value { font-size: 30px; font-weight: 650; margin-top: 4px; line-height: 1.15; white-space: nowrap; }
.kpi .value small { font-size: 15px; font-weight: 500; color: var(--muted); margin-left: 3px; }
.kpi .sub { color: var(--muted); font-size: 12px; margin-top: 4px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.kpi.ok .value { color: var(--text); }
.kpi.warn { --accent: var(--amber); }
.kpi.warn .value { color: var(--amber); }
.kpi.bad { --accent: var(--red); }
.kpi.bad .value { color: var(--red); }
#tile-requests { --accent: var(--blue); }
#tile-rate { --accent: var(--teal); }
#tile-errors { --accent: var(--green); }
#tile-ttft { --accent: var(--purple); }
#tile-tokens { --accent: var(--amber); }
#tile-active { --accent: var(--green); }

/* panels and charts */
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; margin-bottom: 14px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 14px 16px 10px; min-width: 0; }
.panel header { display: flex; align-items: baseline; justify-content: space-between; margin-bottom: 8px; gap: 12px; }
.panel header .note { color: var(--faint); font-size: 12px; }
.chart { position: relative; min-height: 240px; }
.chart .empty {
  position: absolute; inset: 0 0 28px 0; display: flex; align-items: center; justify-content: center;
  color: var(--faint); font-size: 13px; pointer-events: none;
}
.chart .empty[hidden] { display: none; }
.uplot { font-family: inherit; width: 100%; }
.u-legend { font-size: 12px; color: var(--muted); text-align: left; margin: 2px 0 0; }
.u-legend .u-marker { width: 10px; height: 10px; border-radius: 2px; }
.u-legend th { font-weight: 500; }
.u-legend td { color: var(--text); font-variant-numeric: tabular-nums; }
.u-legend .u-series { padding: 0 10px 0 0; }
.u-legend .u-series > * { padding: 2px 0; }
.u-legend.u-inline .u-series th::after { content: ""; }
.u-legend .u-value { padding-left: 4px; min-width: 0; }
.u-legend .u-series:first-child { display: none; }
.u-select { background: rgba(91, 157, 255, 0.12); }

/* tables */
.tables { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; margin-bottom: 14px; }
.tables .wide { grid-column: 1 / -1; }
.tables .panel { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th { text-align: left; font-weight: 500; color: var(--muted); font-size: 12px; padding: 6px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td { padding: 8px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
tbody tr:last-child td { border-bottom: 0; }
tbody tr:hover td { background: rgba(255, 255, 255, 0.02); }
th.n, td.n { text-align: right; }
td.muted, .muted { color: var(--muted); }
td.empty-row { color: var(--faint); text-align: center; padding: 22px 10px; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.badge { display: inline-flex; align-items: center; gap: 6px; padding: 1px 8px; border-radius: 999px; font-size: 12px; background: var(--panel-2); border: 1px solid var(--line); }
.badge::before { content: ""; width: 6px; height: 6px; border-radius: 50%; background: var(--faint); }
.badge.ready::before { background: var(--green); }
.badge.starting::before, .badge.restarting::before, .badge.unloading::before { background: var(--amber); }
.badge.failed::before, .badge.stopped::before, .badge.crashed::before { background: var(--red); }
.meter { display: inline-flex; align-items: center; gap: 8px; justify-content: flex-end; }
.bar { width: 72px; height: 6px; border-radius: 3px; background: var(--panel-2); overflow: hidden; }
.bar > span { display: block; height: 100%; width: 0; background: var(--blue); border-radius: 3px; }
.bar.hot > span { background: var(--amber); }
.bar.full > span { background: var(--red); }

footer { color: var(--faint); font-size: 12px; padding: 4px 24px 20px; max-width: 1680px; margin: 0 auto; display: flex; gap: 18px; }

@media (max-width: 1280px) {
  .tables { grid-template-columns: minmax(0, 1fr); }
}
@media (max-width: 1200px) {
  .kpis { grid-template-columns: repeat(3, minmax(0, 1fr)); }
}
@media (max-width: 860px) {
  .charts, .tables { grid-template-columns: minmax(0, 1fr); }
  .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); }
}

/* sign-in page */
.login-body { min-height: 100vh; display: flex; align-items: center; justify-content: center; padding: 24px; }
.login {
  width: 100%; max-width: 380px; background: var(--panel); border: 1px solid var(--line); border-radius: 14px;
  padding: 28px 28px 24px;
}
.login .brand { margin-bottom: 18px; }
.login h1 { font-size: 18px; margin: 0 0 6px; font-weight: 650; }
.login p { color: var(--muted); margin: 0 0 18px; font-size: 13px; }
.login label { display: block; font-size: 12px; color: var(--muted); margin-bottom: 6px; }
.login input {
  width: 100%; font: inherit; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px;
  color: var(--text); background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; outline: none;
}
.login input:focus { border-color: var(--blue); box-shadow: 0 0 0 3px rgba(91, 157, 255, 0.18); }
.login button {
  margin-top: 14px; width: 100%; font: inherit; font-weight: 600; color: #fff; background: var(--blue);
  border: 0; border-radius: 8px; padding: 10px 12px; cursor: pointer;
}
.login button:hover { filter: brightness(1.08); }
.login .error { color: var(--red); background: rgba(255, 93, 93, 0.08); border: 1px solid rgba(255, 93, 93, 0.25); border-radius: 8px; padding: 8px 10px; font-size: 13px; margin-bottom: 14px; }
.login .hint { margin-top: 16px; color: var(--faint); font-size: 12px; }
.login code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--muted); }
""";
}
