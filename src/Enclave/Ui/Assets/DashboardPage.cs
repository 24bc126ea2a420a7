namespace Enclave.Ui.Assets;

/// <summary>
/// The dashboard document. Placeholders: <c>{{asset:NAME}}</c> (a versioned asset URL) and <c>{{session}}</c>
/// (<c>cookie</c>, <c>key</c> or <c>anonymous</c>). It carries no data: the script fetches <c>/ui/api/*</c>.
/// </summary>
internal static class DashboardPage
{
    public const string Html = """
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Enclave · Live</title>
<link rel="icon" type="image/svg+xml" href="{{asset:icon.svg}}">
<link rel="stylesheet" href="{{asset:uplot.css}}">
<link rel="stylesheet" href="{{asset:dashboard.css}}">
<script src="{{asset:uplot.js}}" defer></script>
<script src="{{asset:dashboard.js}}" defer></script>
</head>
<body data-session="{{session}}">
<header class="topbar">
  <div class="brand"><img src="{{asset:icon.svg}}" alt=""><span>Enclave</span><span class="sub">Live</span></div>
  <div class="status" id="status"><span class="dot"></span><span id="status-text">Connecting…</span></div>
  <div class="spacer"></div>
  <div class="range" role="group" aria-label="Time range">
    <button type="button" data-range="60">1 min</button>
    <button type="button" data-range="300">5 min</button>
    <button type="button" data-range="900">15 min</button>
  </div>
  <form class="logout" method="post" action="/ui/logout"><button type="submit">Sign out</button></form>
</header>
<main>
  <section class="kpis" aria-label="Key figures">
    <div class="kpi" id="tile-requests"><div class="label">Requests</div><div class="value num" id="kpi-requests">–</div><div class="sub" id="kpi-requests-sub">since start</div></div>
    <div class="kpi" id="tile-rate"><div class="label">Requests / s</div><div class="value num" id="kpi-rate">–</div><div class="sub" id="kpi-rate-sub">last minute</div></div>
    <div class="kpi" id="tile-errors"><div class="label">Error rate</div><div class="value num" id="kpi-errors">–</div><div class="sub" id="kpi-errors-sub">last minute</div></div>
    <div class="kpi" id="tile-ttft"><div class="label">TTFT p95</div><div class="value num" id="kpi-ttft">–</div><div class="sub" id="kpi-ttft-sub">last minute</div></div>
    <div class="kpi" id="tile-tokens"><div class="label">Output tokens / s</div><div class="value num" id="kpi-tokens">–</div><div class="sub" id="kpi-tokens-sub">last minute</div></div>
    <div class="kpi" id="tile-active"><div class="label">Active sequences</div><div class="value num" id="kpi-active">–</div><div class="sub" id="kpi-active-sub">all models</div></div>
  </section>
  <section class="charts">
    <div class="panel"><header><h2>Throughput<span class="unit">per second</span></h2><span class="note">requests, errors and rejections</span></header>
      <div class="chart" id="chart-throughput"><div class="empty">No requests in this range</div></div></div>
    <div class="panel"><header><h2>Latency<span class="unit">ms</span></h2><span class="note" id="latency-note">percentiles over a sliding window</span></header>
      <div class="chart" id="chart-latency"><div class="empty">No completed requests in this range</div></div></div>
    <div class="panel"><header><h2>Tokens<span class="unit">per second</span></h2><span class="note">input and output</span></header>
      <div class="chart" id="chart-tokens"><div class="empty">No tokens in this range</div></div></div>
    <div class="panel"><header><h2>Load<span class="unit">per model</span></h2><span class="note">queue depth and KV cache use</span></header>
      <div class="chart" id="chart-load"><div class="empty">No load samples in this range</div></div></div>
  </section>
  <section class="tables">
    <div class="panel wide"><header><h2>Workers</h2><span class="note" id="workers-note"></span></header>
      <table id="workers"><thead><tr><th>Model</th><th>State</th><th class="n">PID</th><th class="n">Restarts</th><th class="n">Slots in use</th><th class="n">Queued</th><th class="n">KV cache</th></tr></thead><tbody></tbody></table></div>
    <div class="panel"><header><h2>Usage by key<span class="unit">last 24 h</span></h2></header>
      <table id="usage-key"><thead><tr><th>Key</th><th class="n">Requests</th><th class="n">Input tokens</th><th class="n">Output tokens</th><th class="n">Errors</th><th class="n">Avg latency</th><th class="n">TTFT p95</th></tr></thead><tbody></tbody></table></div>
    <div class="panel"><header><h2>Usage by model<span class="unit">last 24 h</span></h2></header>
      <table id="usage-model"><thead><tr><th>Model</th><th class="n">Requests</th><th class="n">Input tokens</th><th class="n">Output tokens</th><th class="n">Errors</th><th class="n">Avg latency</th><th class="n">TTFT p95</th></tr></thead><tbody></tbody></table></div>
  </section>
</main>
<footer><span id="footer-started"></span><span id="footer-updated"></span></footer>
</body>
</html>
""";
}
