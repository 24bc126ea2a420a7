using System.Net;
using System.Text;
using System.Text.Json;
using Enclave.Web;

namespace Enclave.Capacity.Reports;

/// <summary>
/// The shell of the capacity HTML reports: one self-contained file with uPlot's script and stylesheet inlined,
/// the report data as JSON in a <c>&lt;script type="application/json"&gt;</c> element (HTML-escaped by the JSON
/// encoder), a shared stylesheet and a small chart helper. Opens from disk with no network. Thread-safe (stateless).
/// </summary>
internal static class HtmlPage
{
    public static string Render(string title, string subtitle, string body, object data, string script)
    {
        var json = JsonSerializer.Serialize(data, CapacityJson.Compact);
        var html = new StringBuilder(96 * 1024);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        html.Append("<title>").Append(E(title)).Append("</title>\n<style>").Append(WebAssets.UPlotCss).Append("</style>\n<style>").Append(Css).Append("</style>\n</head>\n<body>\n<main>\n");
        html.Append("<header><div class=\"brand\">Enclave</div><h1>").Append(E(title)).Append("</h1><p class=\"sub\">").Append(E(subtitle)).Append("</p></header>\n");
        html.Append(body);
        html.Append("\n</main>\n<script type=\"application/json\" id=\"report-data\">").Append(json).Append("</script>\n");
        html.Append("<script>").Append(WebAssets.UPlotJs).Append("</script>\n<script>").Append(ChartHelper).Append('\n').Append(script).Append("</script>\n</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>HTML-encodes text for element content and attribute values.</summary>
    public static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>A figure card holding one chart: a title, a one-line reading hint and the chart host.</summary>
    public static string ChartCard(string id, string title, string hint) =>
        $"<section class=\"card chart-card\"><h3>{E(title)}</h3><p class=\"hint\">{E(hint)}</p><div class=\"chart\" id=\"{E(id)}\"></div></section>";

    /// <summary>A key-figure tile.</summary>
    public static string Tile(string label, string value, string detail, string tone = "") =>
        $"<div class=\"tile {E(tone)}\"><div class=\"label\">{E(label)}</div><div class=\"value\">{E(value)}</div><div class=\"detail\">{E(detail)}</div></div>";

    private const string Css = """
        :root { --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --bg:#f1f5f9; --card:#fff; --accent:#2563eb; --good:#15803d; --bad:#b91c1c; --warn:#b45309; }
        * { box-sizing: border-box; }
        body { margin:0; background:var(--bg); color:var(--ink); font:14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        main { max-width:1280px; margin:0 auto; padding:28px 28px 40px; }
        header { margin-bottom:18px; }
        .brand { font-size:12px; font-weight:700; letter-spacing:.12em; text-transform:uppercase; color:var(--accent); }
        h1 { font-size:24px; margin:4px 0 2px; }
        h2 { font-size:17px; margin:28px 0 10px; }
        h3 { font-size:14px; margin:0 0 2px; }
        .sub { color:var(--muted); margin:0; }
        .tiles { display:grid; grid-template-columns:repeat(auto-fit, minmax(210px, 1fr)); gap:12px; margin:14px 0 8px; }
        .tile { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:12px 14px; border-top:4px solid var(--accent); }
        .tile.good { border-top-color:var(--good); } .tile.bad { border-top-color:var(--bad); } .tile.warn { border-top-color:var(--warn); }
        .tile .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
        .tile .value { font-size:22px; font-weight:650; margin:2px 0; font-variant-numeric:tabular-nums; }
        .tile .detail { color:var(--muted); font-size:12.5px; }
        .grid { display:grid; grid-template-columns:repeat(2, minmax(0, 1fr)); gap:14px; }
        @media (max-width: 900px) { .grid { grid-template-columns:1fr; } }
        .card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
        .hint { color:var(--muted); margin:0 0 8px; font-size:12.5px; }
        .chart { width:100%; min-height:300px; }
        table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; background:var(--card); }
        th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
        th { font-size:12px; color:var(--muted); font-weight:600; background:#f8fafc; position:sticky; top:0; }
        th:first-child, td:first-child { text-align:left; }
        tr.knee td { background:#fefce8; }
        .table-wrap { overflow-x:auto; border:1px solid var(--line); border-radius:10px; }
        .pill { display:inline-block; padding:1px 7px; border-radius:999px; font-size:11.5px; font-weight:600; }
        .pill.good { background:#dcfce7; color:var(--good); } .pill.bad { background:#fee2e2; color:var(--bad); } .pill.knee { background:#fef9c3; color:#854d0e; }
        .notes { color:var(--muted); font-size:12.5px; margin-top:22px; }
        .notes dt { font-weight:600; color:var(--ink); display:inline; } .notes dd { display:inline; margin:0 0 0 4px; } .notes div { margin:3px 0; }
        .bar { display:flex; height:26px; border-radius:6px; overflow:hidden; border:1px solid var(--line); }
        .bar span { display:block; height:100%; }
        .legend-row { display:flex; gap:14px; flex-wrap:wrap; font-size:12.5px; color:var(--muted); margin-top:6px; }
        .legend-row i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:5px; vertical-align:-1px; }
        .u-legend { font-size:12px; }
        .u-legend .u-marker { border-radius:2px; }
        """;

    private const string ChartHelper = """
        const REPORT = JSON.parse(document.getElementById('report-data').textContent);
        const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563', '#65a30d', '#0f766e'];
        const drawn = [];
        function fmtNum(v) {
          if (v == null || !isFinite(v)) return '-';
          const a = Math.abs(v);
          if (a >= 10000) return Math.round(v).toLocaleString('en-US');
          if (a >= 100) return v.toFixed(0);
          if (a >= 10) return v.toFixed(1);
          return v.toFixed(2);
        }
        // One line chart. cfg: { x, xLabel, xTicks, yLabel, y2Label, series: [{label, values, color, dash, y2}], logX, markers: [{x, label}], hlines: [{y, label}] }
        function lineChart(id, cfg) {
          const host = document.getElementById(id);
          if (!host) return null;
          const pr = uPlot.pxRatio || 1;
          const markers = cfg.markers || [], hlines = cfg.hlines || [];
          const opts = {
            width: Math.max(320, host.clientWidth), height: 300,
            scales: {
              x: cfg.logX ? { time: false, distr: 3, log: 2 } : { time: false },
              y: { range: (u, min, max) => [0, Math.max(max, ...hlines.map(h => h.y)) * 1.12 || 1] },
              y2: { range: (u, min, max) => [0, max * 1.12 || 1] },
            },
            axes: [
              { label: cfg.xLabel, stroke: '#475569', grid: { stroke: '#eef2f7' }, ticks: { stroke: '#cbd5e1' },
                splits: cfg.xTicks ? () => cfg.xTicks : undefined,
                values: cfg.xValues || (cfg.xTicks ? (u, vals) => vals.map(v => String(+v.toFixed(3))) : undefined) },
              { label: cfg.yLabel, stroke: '#475569', grid: { stroke: '#eef2f7' }, ticks: { stroke: '#cbd5e1' }, size: 62 },
            ].concat(cfg.y2Label ? [{ scale: 'y2', side: 1, label: cfg.y2Label, stroke: '#475569', grid: { show: false }, ticks: { stroke: '#cbd5e1' }, size: 62 }] : []),
            legend: { live: false },
            cursor: { points: { size: 7 } },
            series: [{ label: cfg.xLabel, value: (u, v) => v == null ? '-' : fmtNum(v) }].concat(cfg.series.map((s, i) => ({
              label: s.label, scale: s.y2 ? 'y2' : 'y', stroke: s.color || PALETTE[i % PALETTE.length], width: 2, dash: s.dash, spanGaps: true,
              points: { show: cfg.points !== false, size: 6, fill: s.color || PALETTE[i % PALETTE.length] },
              value: (u, v) => v == null ? '-' : fmtNum(v),
            }))),
            hooks: { draw: [u => {
              const ctx = u.ctx; ctx.save();
              ctx.font = (11 * pr) + 'px sans-serif';
              // Markers label at the top of their line, objective lines at their right end, so the two do not collide.
              for (const m of markers) {
                const x = u.valToPos(m.x, 'x', true);
                ctx.strokeStyle = '#ca8a04'; ctx.lineWidth = 1.5 * pr; ctx.setLineDash([5 * pr, 4 * pr]);
                ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
                const w = ctx.measureText(m.label).width;
                const right = x + 6 * pr + w < u.bbox.left + u.bbox.width;
                ctx.fillStyle = '#854d0e'; ctx.textAlign = right ? 'left' : 'right';
                ctx.fillText(m.label, right ? x + 6 * pr : x - 6 * pr, u.bbox.top + 14 * pr);
              }
              ctx.textAlign = 'right';
              for (const h of hlines) {
                const y = u.valToPos(h.y, 'y', true);
                ctx.strokeStyle = '#b91c1c'; ctx.lineWidth = 1.2 * pr; ctx.setLineDash([3 * pr, 3 * pr]);
                ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
                ctx.fillStyle = '#b91c1c'; ctx.fillText(h.label, u.bbox.left + u.bbox.width - 6 * pr, y - 5 * pr);
              }
              ctx.restore();
            }] },
          };
          const plot = new uPlot(opts, [cfg.x].concat(cfg.series.map(s => s.values)), host);
          drawn.push(plot);
          return plot;
        }
        // Values at percentiles 0..100 of a sample (linear interpolation), for quantile plots.
        function quantiles(sample) {
          const s = sample.filter(v => v != null && isFinite(v)).slice().sort((a, b) => a - b);
          const out = [];
          for (let p = 0; p <= 100; p++) {
            if (s.length === 0) { out.push(null); continue; }
            const r = p / 100 * (s.length - 1), lo = Math.floor(r), hi = Math.min(lo + 1, s.length - 1);
            out.push(s[lo] + (r - lo) * (s[hi] - s[lo]));
          }
          return out;
        }
        function finish() { window.reportReady = { charts: drawn.length }; }
        """;
}
