namespace Enclave.Ui.Assets;

/// <summary>
/// The dashboard's script (served as <c>/ui/assets/dashboard.js</c>; the page allows no inline script). Polls
/// <c>/ui/api/live</c> and <c>/ui/api/workers</c> every 2 s and the usage tables every 10 s, draws with uPlot, and
/// builds every table cell with <c>textContent</c>, never markup.
/// </summary>
internal static class DashboardScript
{
    public const string Js = """
(function () {
  'use strict';

  var REFRESH_MS = 2000;
  var USAGE_MS = 10000;
  var CHART_HEIGHT = 210;
  var RANGES = [60, 300, 900];
  var C = {
    blue: '#5b9dff', green: '#3ecf8e', red: '#ff5d5d', amber: '#f5b84b', purple: '#b48cff', teal: '#38c6d9',
    muted: '#8d96a6', line: '#252c38', faint: '#5d6677'
  };
  var MODEL_COLORS = [C.blue, C.amber, C.purple, C.teal, C.green, C.red, '#ff8ad8', '#a3e05f'];

  var stored = Number(window.localStorage.getItem('enclave.range'));
  var range = RANGES.indexOf(stored) >= 0 ? stored : 300;
  var charts = {};
  var loadModels = '';
  var timer = 0;
  var usageAt = 0;
  var signedOut = false;

  function $(id) { return document.getElementById(id); }

  // ---- formatting -------------------------------------------------------------------------------------------
  var intFormat = new Intl.NumberFormat('en-US');
  function fmtInt(n) { return intFormat.format(Math.round(n)); }
  function fmtRate(n) {
    if (n == null) { return '–'; }
    if (n === 0) { return '0'; }
    if (n < 1) { return n.toFixed(2); }
    if (n < 100) { return n.toFixed(1); }
    return fmtInt(n);
  }
  function fmtMs(ms) {
    if (ms == null) { return '–'; }
    if (ms < 1) { return ms.toFixed(2) + ' ms'; }
    if (ms < 100) { return ms.toFixed(1) + ' ms'; }
    if (ms < 10000) { return fmtInt(ms) + ' ms'; }
    return (ms / 1000).toFixed(1) + ' s';
  }
  function splitMs(ms) {
    if (ms == null) { return ['–', '']; }
    if (ms < 10) { return [ms.toFixed(2), 'ms']; }
    if (ms < 1000) { return [ms.toFixed(ms < 100 ? 1 : 0), 'ms']; }
    return [(ms / 1000).toFixed(2), 's'];
  }
  function fmtPercent(ratio) {
    if (ratio === 0) { return '0'; }
    var p = ratio * 100;
    return p < 10 ? p.toFixed(1) : p.toFixed(0);
  }
  function clock(date) { return date.toLocaleTimeString('en-GB', { hour12: false }); }
  function duration(seconds) {
    var d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60);
    if (d > 0) { return d + 'd ' + h + 'h'; }
    if (h > 0) { return h + 'h ' + m + 'm'; }
    if (m > 0) { return m + 'm ' + Math.floor(seconds % 60) + 's'; }
    return Math.floor(seconds) + 's';
  }
  function ms(list) { return list.map(function (v) { return v == null ? null : v * 1000; }); }
  function pct(list) { return list.map(function (v) { return v == null ? null : v * 100; }); }

  // ---- DOM helpers ------------------------------------------------------------------------------------------
  function setValue(id, text, unit) {
    var el = $(id);
    el.textContent = text;
    if (unit) {
      var small = document.createElement('small');
      small.textContent = unit;
      el.appendChild(small);
    }
  }
  function setText(id, text) { $(id).textContent = text; }
  function cell(row, text, className) {
    var td = document.createElement('td');
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }
  function meterCell(row, used, total, label) {
    var td = document.createElement('td');
    td.className = 'n';
    var wrap = document.createElement('span');
    wrap.className = 'meter';
    var text = document.createElement('span');
    text.className = 'num';
    text.textContent = label;
    var bar = document.createElement('span');
    var ratio = total > 0 ? Math.min(1, used / total) : 0;
    bar.className = 'bar' + (ratio >= 0.95 ? ' full' : ratio >= 0.75 ? ' hot' : '');
    var fill = document.createElement('span');
    fill.style.width = (ratio * 100).toFixed(1) + '%';
    bar.appendChild(fill);
    wrap.appendChild(text);
    wrap.appendChild(bar);
    td.appendChild(wrap);
    row.appendChild(td);
  }
  function fillTable(id, rows, columns, build) {
    var body = $(id).tBodies[0];
    var fragment = document.createDocumentFragment();
    if (rows.length === 0) {
      var tr = document.createElement('tr');
      var td = cell(tr, id === 'workers' ? 'No models are configured' : 'No requests in the last 24 hours', 'empty-row');
      td.colSpan = columns;
      fragment.appendChild(tr);
    } else {
      rows.forEach(function (r) {
        var row = document.createElement('tr');
        build(row, r);
        fragment.appendChild(row);
      });
    }
    body.replaceChildren(fragment);
  }
  function setStatus(state, text) {
    $('status').className = 'status ' + state;
    setText('status-text', text);
  }

  // ---- charts -----------------------------------------------------------------------------------------------
  function axis(format, side) {
    var a = {
      side: side == null ? 3 : side,
      stroke: C.muted,
      font: '11px system-ui, sans-serif',
      grid: { stroke: C.line, width: 1 },
      ticks: { stroke: C.line, width: 1, size: 4 },
      size: side === 2 ? 30 : 52
    };
    if (format) { a.values = function (u, splits) { return splits.map(format); }; }
    return a;
  }
  // Clock times only: the range is at most 15 minutes, so dates would be noise.
  function timeAxis() {
    var a = axis(null, 2);
    a.space = 70;
    a.values = function (u, splits, axisIdx, space, incr) {
      return splits.map(function (t) {
        var text = clock(new Date(t * 1000));
        return incr >= 60 ? text.slice(0, 5) : text;
      });
    };
    return a;
  }
  function zeroBased(u, min, max) { return [0, max != null && max > 0 ? max * 1.15 : 1]; }
  function line(label, color, options) {
    var s = { label: label, stroke: color, width: 1.75, points: { show: false }, spanGaps: false };
    Object.keys(options || {}).forEach(function (k) { s[k] = options[k]; });
    return s;
  }
  function makeChart(name, series, scales, axes) {
    var el = $('chart-' + name);
    if (charts[name]) { charts[name].destroy(); }
    var opts = {
      width: Math.max(200, el.clientWidth),
      height: CHART_HEIGHT,
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      legend: { live: true },
      scales: scales,
      axes: [timeAxis()].concat(axes),
      series: [{ label: 'time', value: function (u, v) { return v == null ? '' : clock(new Date(v * 1000)); } }].concat(series)
    };
    var empty = [[]].concat(series.map(function () { return []; }));
    charts[name] = new window.uPlot(opts, empty, el);
    return charts[name];
  }
  // Rates count only where something happened; a gauge sample counts even when it reads 0.
  function countPoints(data, zeroIsData) {
    var n = 0;
    for (var s = 1; s < data.length; s++) {
      for (var i = 0; i < data[s].length; i++) { if (data[s][i] != null && (zeroIsData || data[s][i] !== 0)) { n++; } }
    }
    return n;
  }
  function draw(name, data, zeroIsData) {
    var chart = charts[name];
    chart.setData(data);
    var points = countPoints(data, zeroIsData);
    var el = $('chart-' + name);
    el.dataset.points = String(points);
    el.querySelector('.empty').hidden = points > 0;
  }
  function value(format) { return function (u, v) { return v == null ? '' : format(v); }; }

  function createStaticCharts() {
    var perSecond = { x: { time: true }, y: { range: zeroBased } };
    makeChart('throughput', [
      line('requests', C.blue, { fill: 'rgba(91, 157, 255, 0.10)', width: 2, value: value(fmtRate) }),
      line('5xx', C.red, { value: value(fmtRate) }),
      line('4xx', C.amber, { value: value(fmtRate) }),
      line('auth rejected', C.purple, { dash: [4, 3], value: value(fmtRate) })
    ], perSecond, [axis(fmtRate)]);
    makeChart('latency', [
      line('TTFT p50', C.teal, { value: value(fmtMs) }),
      line('TTFT p95', C.blue, { width: 2, value: value(fmtMs) }),
      line('TTFT p99', C.purple, { value: value(fmtMs) }),
      line('total p50', C.teal, { dash: [5, 4], value: value(fmtMs) }),
      line('total p95', C.amber, { dash: [5, 4], width: 2, value: value(fmtMs) }),
      line('total p99', C.red, { dash: [5, 4], value: value(fmtMs) })
    ], { x: { time: true }, y: { range: zeroBased } }, [axis(function (v) { return v >= 1000 ? (v / 1000) + ' s' : v + ' ms'; })]);
    makeChart('tokens', [
      line('output', C.amber, { fill: 'rgba(245, 184, 75, 0.10)', width: 2, value: value(fmtRate) }),
      line('input', C.blue, { value: value(fmtRate) })
    ], perSecond, [axis(fmtRate)]);
  }

  function ensureLoadChart(models) {
    var key = models.join('\u0000');
    if (charts.load && key === loadModels) { return; }
    loadModels = key;
    var series = [];
    models.forEach(function (m, i) {
      var color = MODEL_COLORS[i % MODEL_COLORS.length];
      series.push(line(m + ' queue', color, { width: 2, scale: 'y', value: value(fmtInt) }));
      series.push(line(m + ' KV %', color, { dash: [4, 3], scale: '%', value: value(function (v) { return v.toFixed(1) + ' %'; }) }));
    });
    makeChart('load', series,
      { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(4, (max || 0) * 1.2)]; } }, '%': { range: [0, 100] } },
      [axis(fmtInt), Object.assign(axis(function (v) { return v + '%'; }, 1), { scale: '%', grid: { show: false } })]);
  }

  function resizeCharts() {
    Object.keys(charts).forEach(function (name) {
      var el = $('chart-' + name);
      charts[name].setSize({ width: Math.max(200, el.clientWidth), height: CHART_HEIGHT });
    });
  }

  // ---- rendering ----------------------------------------------------------------------------------------------
  function renderLive(live) {
    var t = live.totals, r = live.recent, s = live.series;
    setValue('kpi-requests', fmtInt(t.requests));
    setText('kpi-requests-sub', fmtInt(t.errors) + ' errors · ' + fmtInt(t.auth_rejections) + ' auth rejected');
    setValue('kpi-rate', fmtRate(r.requests_per_second));
    setValue('kpi-errors', fmtPercent(r.error_rate), '%');
    $('tile-errors').className = 'kpi ' + (r.error_rate >= 0.05 ? 'bad' : r.error_rate > 0 ? 'warn' : 'ok');
    setText('kpi-errors-sub', 'last minute · total ' + fmtInt(t.server_errors) + ' 5xx, ' + fmtInt(t.client_errors) + ' 4xx');
    var ttft = r.time_to_first_token;
    var p95 = splitMs(ttft.p95 == null ? null : ttft.p95 * 1000);
    setValue('kpi-ttft', p95[0], p95[1]);
    setText('kpi-ttft-sub', ttft.p95 == null ? 'no requests in the last minute'
      : 'p50 ' + fmtMs(ttft.p50 * 1000) + ' · p99 ' + fmtMs(ttft.p99 * 1000));
    setValue('kpi-tokens', fmtRate(r.output_tokens_per_second));
    setText('kpi-tokens-sub', 'last minute · input ' + fmtRate(r.input_tokens_per_second) + '/s');
    setText('latency-note', 'p50 / p95 / p99 over ' + live.latency_window_seconds + ' s windows · dashed: whole request');

    draw('throughput', [s.time, s.requests, s.server_errors, s.client_errors, s.auth_rejections]);
    draw('latency', [s.time, ms(s.ttft_p50), ms(s.ttft_p95), ms(s.ttft_p99), ms(s.duration_p50), ms(s.duration_p95), ms(s.duration_p99)]);
    draw('tokens', [s.time, s.output_tokens, s.input_tokens]);
    var models = Object.keys(s.models).sort();
    ensureLoadChart(models);
    var load = [s.time];
    models.forEach(function (m) { load.push(s.models[m].queue_depth); load.push(pct(s.models[m].kv_cache_usage)); });
    draw('load', load, true);

    var started = new Date(live.started_at);
    setText('footer-started', 'Gateway started ' + started.toLocaleString('en-GB', { hour12: false }) + ' · up ' + duration(live.now - started.getTime() / 1000));
  }

  function renderWorkers(report) {
    var workers = report.workers || [];
    var active = 0, slots = 0, queued = 0, ready = 0;
    workers.forEach(function (w) {
      if (w.state === 'ready') { ready++; }
      if (w.engine) { active += w.engine.activeSequences || 0; slots += w.engine.slots || 0; queued += w.engine.queuedRequests || 0; }
    });
    setValue('kpi-active', fmtInt(active), slots > 0 ? '/ ' + fmtInt(slots) : '');
    setText('kpi-active-sub', fmtInt(queued) + ' queued · ' + ready + '/' + workers.length + ' workers ready');
    setText('workers-note', workers.length === 0 ? '' : ready + ' of ' + workers.length + ' ready');
    fillTable('workers', workers, 7, function (row, w) {
      cell(row, w.name, 'mono');
      var state = cell(row, '');
      var badge = document.createElement('span');
      badge.className = 'badge ' + w.state;
      badge.textContent = w.state;
      state.appendChild(badge);
      cell(row, w.pid == null ? '–' : String(w.pid), 'n muted');
      cell(row, fmtInt(w.restarts), 'n');
      var e = w.engine;
      if (e) {
        meterCell(row, e.activeSequences, e.slots, e.activeSequences + ' / ' + e.slots);
        cell(row, fmtInt(e.queuedRequests), 'n');
        var kv = e.kvCellsTotal > 0 ? e.kvCellsUsed / e.kvCellsTotal : 0;
        meterCell(row, e.kvCellsUsed, e.kvCellsTotal, fmtPercent(kv) + ' %');
      } else {
        cell(row, '–', 'n muted');
        cell(row, '–', 'n muted');
        cell(row, '–', 'n muted');
      }
    });
  }

  function renderUsage(id, report, names) {
    fillTable(id, report.rows || [], 7, function (row, u) {
      var label = names && names[u.group] ? names[u.group] + ' (' + u.group + ')' : u.group;
      cell(row, label || '–', 'mono');
      cell(row, fmtInt(u.requests), 'n');
      cell(row, fmtInt(u.prompt_tokens), 'n');
      cell(row, fmtInt(u.completion_tokens), 'n');
      cell(row, fmtInt(u.errors), u.errors > 0 ? 'n' : 'n muted');
      cell(row, fmtMs(u.avg_latency_ms), 'n');
      cell(row, fmtMs(u.p95_time_to_first_token_ms), 'n');
    });
  }

  // ---- polling ----------------------------------------------------------------------------------------------
  function SignedOut() { }
  function getJson(url) {
    return window.fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (response.status === 401) { throw new SignedOut(); }
        if (!response.ok) { throw new Error(url + ' answered ' + response.status); }
        return response.json();
      });
  }

  function loadUsage() {
    return Promise.all([
      getJson('/ui/api/usage?by=key&since=24h'),
      getJson('/ui/api/usage?by=model&since=24h'),
      getJson('/ui/api/keys')
    ]).then(function (results) {
      var names = {};
      (results[2].data || []).forEach(function (k) { names[k.id] = k.name; });
      renderUsage('usage-key', results[0], names);
      renderUsage('usage-model', results[1], null);
    });
  }

  function tick() {
    window.clearTimeout(timer);
    var work = [getJson('/ui/api/live?seconds=' + range).then(renderLive), getJson('/ui/api/workers').then(renderWorkers)];
    if (Date.now() - usageAt >= USAGE_MS) {
      usageAt = Date.now();
      work.push(loadUsage());
    }

    Promise.all(work).then(function () {
      setStatus('live', 'Live · ' + clock(new Date()));
      setText('footer-updated', 'Refreshes every ' + REFRESH_MS / 1000 + ' s');
    }, function (error) {
      if (error instanceof SignedOut) {
        signedOut = true;
        setStatus('down', 'Signed out');
        window.location.reload();
        return;
      }
      usageAt = 0;
      setStatus('stale', 'Cannot reach the gateway · retrying');
    }).then(function () {
      if (!signedOut) { timer = window.setTimeout(tick, REFRESH_MS); }
    });
  }

  function selectRange(seconds) {
    range = seconds;
    window.localStorage.setItem('enclave.range', String(seconds));
    document.querySelectorAll('.range button').forEach(function (b) {
      b.classList.toggle('active', Number(b.dataset.range) === seconds);
    });
  }

  document.querySelectorAll('.range button').forEach(function (b) {
    b.addEventListener('click', function () { selectRange(Number(b.dataset.range)); tick(); });
  });
  selectRange(range);
  createStaticCharts();
  ensureLoadChart([]);
  new ResizeObserver(resizeCharts).observe(document.querySelector('.charts'));
  tick();
}());
""";
}
