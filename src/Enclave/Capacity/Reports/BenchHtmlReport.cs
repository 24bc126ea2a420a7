using System.Globalization;
using System.Text;
using Enclave.Capacity.Bench;
using static Enclave.Capacity.Reports.HtmlPage;

namespace Enclave.Capacity.Reports;

/// <summary>
/// The self-contained HTML report of <c>enclave bench --html</c>: key figures, latency and TTFT against load,
/// throughput and goodput against load, inter-token time against load, latency distributions per level, and the
/// full table. Thread-safe (stateless).
/// </summary>
public static class BenchHtmlReport
{
    public static string Render(BenchResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var levels = result.Levels;
        var xName = XName(result.Settings.Mode);
        var body = new StringBuilder();
        body.Append("<div class=\"tiles\">");
        var peak = levels[result.Summary.PeakThroughputIndex];
        body.Append(Tile("peak output throughput", $"{ConsoleFormat.Rate(peak.Throughput.OutputTokensPerS)} tok/s", $"at {peak.Load.Label}, {ConsoleFormat.Rate(peak.Throughput.RequestsPerS)} req/s"));
        body.Append(result.Summary.Knee is { } knee
            ? Tile("knee (latency turns up)", knee.Label, $"{ConsoleFormat.Rate(knee.OutputTokensPerS)} tok/s at E2E p50 {ConsoleFormat.Duration(knee.E2eP50Ms)}", "warn")
            : Tile("knee (latency turns up)", "not found", result.Summary.KneeNote ?? "", "warn"));
        if (result.Slo is { } slo)
        {
            body.Append(result.Summary.BestUnderSloIndex is { } b
                ? Tile("highest load meeting the SLO", levels[b].Load.Label, $"goodput {ConsoleFormat.Rate(levels[b].Slo!.GoodputRequestsPerS)} req/s; {BenchConsole.Describe(slo)}", "good")
                : Tile("highest load meeting the SLO", "none", BenchConsole.Describe(slo), "bad"));
        }

        var first = levels[0];
        body.Append(Tile("lightest load", first.Load.Label, $"TTFT p50 {ConsoleFormat.Duration(first.TtftMs.P50)}, TPOT p50 {ConsoleFormat.Duration(first.TpotMs.P50)}"));
        var errors = result.Summary.TotalErrors;
        body.Append(Tile("errors", ConsoleFormat.Int(errors), errors == 0 ? "every request succeeded" : string.Join(", ", levels.SelectMany(l => l.Requests.Errors).GroupBy(e => e.Key).Select(g => $"{g.Key} x{g.Sum(e => e.Value)}")), errors == 0 ? "good" : "bad"));
        body.Append("</div>");

        body.Append("<h2>Against load</h2><div class=\"grid\">");
        body.Append(ChartCard("chart-ttft", "Time to first token", $"p50, p90 and p99 of the wait for the first generated text, by {xName}."));
        body.Append(ChartCard("chart-e2e", "End-to-end latency", $"p50, p90 and p99 of the whole response time, by {xName}."));
        body.Append(ChartCard("chart-throughput", "Throughput", result.Slo is null ? $"Output tokens per second (left) and requests per second (right), by {xName}." : $"Output tokens per second, goodput (tokens of requests that met the SLO) and requests per second (right), by {xName}."));
        body.Append(ChartCard("chart-itl", "Inter-token latency", $"Gap between streamed chunks (ITL) and time per output token (TPOT), by {xName}."));
        body.Append("</div><h2>Distributions per level</h2><div class=\"grid\">");
        body.Append(ChartCard("chart-dist-e2e", "End-to-end latency by percentile", "Each line is one load level: the latency (y) below which that share of requests (x) finished."));
        body.Append(ChartCard("chart-dist-ttft", "Time to first token by percentile", "Each line is one load level; a steep right end is a long tail."));
        body.Append("</div>");

        body.Append("<h2>Every level</h2><div class=\"table-wrap\"><table><thead><tr><th>load</th><th>ok / sent</th><th>errors</th><th>req/s</th><th>out tok/s</th><th>in tok/s</th>")
            .Append("<th>TTFT p50</th><th>p90</th><th>p99</th><th>ITL p50</th><th>p99</th><th>TPOT p50</th><th>E2E p50</th><th>p90</th><th>p99</th><th>out tok</th><th>in flight</th>");
        if (result.Slo is not null)
        {
            body.Append("<th>SLO</th><th>goodput req/s</th>");
        }

        body.Append("</tr></thead><tbody>");
        for (var i = 0; i < levels.Count; i++)
        {
            var l = levels[i];
            var isKnee = result.Summary.Knee?.Index == i;
            body.Append(isKnee ? "<tr class=\"knee\">" : "<tr>")
                .Append("<td>").Append(E(l.Load.Label)).Append(isKnee ? " <span class=\"pill knee\">knee</span>" : "").Append("</td>")
                .Append(Td($"{l.Requests.Succeeded} / {l.Requests.Sent}"))
                .Append(Td(l.Requests.Failed == 0 ? "0" : string.Join(", ", l.Requests.Errors.Select(e => $"{e.Key} x{e.Value}"))))
                .Append(Td(ConsoleFormat.Rate(l.Throughput.RequestsPerS))).Append(Td(ConsoleFormat.Rate(l.Throughput.OutputTokensPerS))).Append(Td(ConsoleFormat.Rate(l.Throughput.InputTokensPerS)))
                .Append(Td(ConsoleFormat.Ms(l.TtftMs.P50))).Append(Td(ConsoleFormat.Ms(l.TtftMs.P90))).Append(Td(ConsoleFormat.Ms(l.TtftMs.P99)))
                .Append(Td(ConsoleFormat.Ms(l.ItlMs.P50))).Append(Td(ConsoleFormat.Ms(l.ItlMs.P99))).Append(Td(ConsoleFormat.Ms(l.TpotMs.P50)))
                .Append(Td(ConsoleFormat.Ms(l.E2eMs.P50))).Append(Td(ConsoleFormat.Ms(l.E2eMs.P90))).Append(Td(ConsoleFormat.Ms(l.E2eMs.P99)))
                .Append(Td(l.OutputTokens.Mean.ToString("0", CultureInfo.InvariantCulture))).Append(Td(l.ConcurrencyAchieved.ToString("0.0", CultureInfo.InvariantCulture)));
            if (result.Slo is not null)
            {
                body.Append(l.Slo is { } s
                    ? $"<td><span class=\"pill {(s.Met ? "good" : "bad")}\">{(s.Met ? "met" : "missed")} {E(ConsoleFormat.Percent(s.Attainment))}</span></td>{Td(ConsoleFormat.Rate(s.GoodputRequestsPerS))}"
                    : "<td>-</td><td>-</td>");
            }

            body.Append("</tr>");
        }

        body.Append("</tbody></table></div>");
        body.Append("<dl class=\"notes\">")
            .Append(Note("TTFT", "time from sending the request to the first chunk carrying generated text, measured by the client."))
            .Append(Note("ITL", "gap between consecutive text chunks, pooled over all requests."))
            .Append(Note("TPOT", "per request, (end-to-end − TTFT) ÷ (output tokens − 1)."))
            .Append(Note("Output tokens", levels.All(l => l.UsageReported || l.Requests.Succeeded == 0) ? "from the server's usage report." : "from the server's usage report where present, else counted from stream chunks."))
            .Append(Note("Knee", "the load with the most output throughput per unit of median latency; beyond it, latency grows faster than throughput."))
            .Append(Note("Goodput", "requests (or their tokens) per second that succeeded and met every SLO limit."))
            .Append(Note("Run", $"{result.Settings.Mode} sweep {string.Join(", ", result.Settings.Levels)}; {Bound(result.Settings)} per level; {result.Settings.Warmup} warm-up request(s) excluded; seed {result.Settings.Seed}; {result.Source.Description}; {result.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z to {result.FinishedAt.UtcDateTime:HH:mm:ss}Z."))
            .Append("</dl>");

        var subtitle = $"model {result.Target.Model} · POST {result.Target.RequestUrl} · {result.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm}Z";
        return HtmlPage.Render("Load test report", subtitle, body.ToString(), result, Script(xName));
    }

    private static string XName(string mode) => mode switch
    {
        "concurrency" => "concurrency",
        "rate" => "offered rate (req/s)",
        _ => "replay speed-up",
    };

    private static string Bound(BenchSettingsInfo settings) =>
        (settings.Requests, settings.DurationS) switch
        {
            ({ } n, { } d) => $"{n} requests or {d.ToString("0.#", CultureInfo.InvariantCulture)} s",
            ({ } n, null) => $"{n} requests",
            (null, { } d) => $"{d.ToString("0.#", CultureInfo.InvariantCulture)} s",
            _ => "unbounded",
        };

    private static string Td(string text) => $"<td>{E(text)}</td>";

    private static string Note(string term, string text) => $"<div><dt>{E(term)}:</dt><dd>{E(text)}</dd></div>";

    private static string Script(string xName) => $$"""
        (function () {
          const L = REPORT.levels;
          const x = L.map(l => l.load.value);
          const xLabel = {{System.Text.Json.JsonSerializer.Serialize(xName)}};
          const logX = x.length > 1 && x.every(v => v > 0) && Math.max(...x) / Math.min(...x) >= 8;
          const knee = REPORT.summary.knee;
          const markers = knee ? [{ x: knee.value, label: 'knee ' + knee.label }] : [];
          const slo = REPORT.slo || {};
          const pick = (f) => L.map(l => l.requests.succeeded > 0 ? f(l) : null);
          lineChart('chart-ttft', { x, xLabel, xTicks: x, yLabel: 'ms', logX, markers,
            hlines: slo.ttft_ms ? [{ y: slo.ttft_ms, label: 'TTFT limit ' + fmtNum(slo.ttft_ms) + ' ms' }] : [],
            series: [
              { label: 'TTFT p50', values: pick(l => l.ttft_ms.p50), color: PALETTE[0] },
              { label: 'p90', values: pick(l => l.ttft_ms.p90), color: PALETTE[4] },
              { label: 'p99', values: pick(l => l.ttft_ms.p99), color: PALETTE[1], dash: [6, 4] },
            ] });
          lineChart('chart-e2e', { x, xLabel, xTicks: x, yLabel: 'ms', logX, markers,
            hlines: slo.e2e_ms ? [{ y: slo.e2e_ms, label: 'E2E limit ' + fmtNum(slo.e2e_ms) + ' ms' }] : [],
            series: [
              { label: 'E2E p50', values: pick(l => l.e2e_ms.p50), color: PALETTE[2] },
              { label: 'p90', values: pick(l => l.e2e_ms.p90), color: PALETTE[3] },
              { label: 'p99', values: pick(l => l.e2e_ms.p99), color: PALETTE[1], dash: [6, 4] },
            ] });
          // Requests/s first, so the token lines are drawn over it where they coincide.
          const tput = [
            { label: 'requests/s (right)', values: L.map(l => l.throughput.requests_per_s), color: '#94a3b8', dash: [6, 4], y2: true },
            { label: 'output tok/s', values: L.map(l => l.throughput.output_tokens_per_s), color: PALETTE[0] },
          ];
          if (REPORT.slo) tput.push({ label: 'goodput tok/s', values: L.map(l => l.slo ? l.slo.goodput_output_tokens_per_s : null), color: PALETTE[2], dash: [2, 3] });
          lineChart('chart-throughput', { x, xLabel, xTicks: x, yLabel: 'output tokens/s', y2Label: 'requests/s', logX, markers, series: tput });
          lineChart('chart-itl', { x, xLabel, xTicks: x, yLabel: 'ms', logX, markers,
            hlines: slo.tpot_ms ? [{ y: slo.tpot_ms, label: 'TPOT limit ' + fmtNum(slo.tpot_ms) + ' ms' }] : [],
            series: [
              { label: 'ITL p50', values: pick(l => l.itl_ms.p50), color: PALETTE[5] },
              { label: 'ITL p99', values: pick(l => l.itl_ms.p99), color: PALETTE[1], dash: [6, 4] },
              { label: 'TPOT p50', values: pick(l => l.tpot_ms.p50), color: PALETTE[4] },
            ] });
          // At most 8 levels in the distribution charts, spread over the sweep.
          const shown = L.length <= 8 ? L.map((_, i) => i) : Array.from({ length: 8 }, (_, k) => Math.round(k * (L.length - 1) / 7));
          const pct = Array.from({ length: 101 }, (_, p) => p);
          const dist = (field) => shown.filter(i => L[i].samples[field].length > 0).map((i, k) => ({ label: L[i].load.label, values: quantiles(L[i].samples[field]), color: PALETTE[k % PALETTE.length] }));
          const pctAxis = (u, vals) => vals.map(v => 'p' + v);
          lineChart('chart-dist-e2e', { x: pct, xLabel: 'percentile', xTicks: [0, 25, 50, 75, 90, 99], xValues: pctAxis, yLabel: 'ms', points: false, series: dist('e2e_ms') });
          lineChart('chart-dist-ttft', { x: pct, xLabel: 'percentile', xTicks: [0, 25, 50, 75, 90, 99], xValues: pctAxis, yLabel: 'ms', points: false, series: dist('ttft_ms') });
          finish();
        })();
        """;
}
