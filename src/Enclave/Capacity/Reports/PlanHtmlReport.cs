using System.Globalization;
using System.Text;
using Enclave.Capacity.Plan;
using static Enclave.Capacity.Reports.ConsoleFormat;
using static Enclave.Capacity.Reports.HtmlPage;

namespace Enclave.Capacity.Reports;

/// <summary>
/// The self-contained HTML report of <c>enclave plan --html</c>: the model's memory needs, how memory divides on
/// each hardware profile, the decode bounds, the measured service curve and the replica sweep. Thread-safe.
/// </summary>
public static class PlanHtmlReport
{
    private const string WeightsColor = "#2563eb";
    private const string KvColor = "#16a34a";
    private const string ComputeColor = "#d97706";
    private const string ReserveColor = "#94a3b8";

    public static string Render(PlanResult plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var body = new StringBuilder("<div class=\"tiles\">");
        if (plan.Model is { } m && plan.KvCache is { } kv)
        {
            body.Append(Tile("weights", Bytes(m.WeightsBytes), $"{m.Parameters / 1e6:0.0}M parameters, {m.Quantization}"));
            body.Append(Tile($"KV cache per token ({kv.TypeK})", Bytes(kv.BytesPerToken), $"{m.Layers} layers x {m.KvHeads} KV heads x ({m.KeyLength}+{m.ValueLength})"));
            body.Append(Tile("KV cache per sequence", Bytes(kv.BytesPerSequence), $"at {Int(kv.Context)} tokens of context"));
            var best = plan.Hardware.Where(h => h.Fits).MaxBy(h => h.MaxSequences);
            if (best is not null)
            {
                body.Append(Tile("most sequences", Int(best.MaxSequences), $"on {best.Profile}", "good"));
            }
        }

        if (plan.Replicas is { } r)
        {
            body.Append(r.Needed is { } n
                ? Tile("replicas needed", Int(n), $"for {Rate(r.TargetRequestsPerS)} req/s; each peaks at {Rate(r.PeakRequestsPerSPerReplica)} req/s", "good")
                : Tile("replicas needed", "not found", r.Note ?? "", "bad"));
        }

        body.Append("</div>");
        if (plan.Model is not null && plan.Hardware.Count > 0)
        {
            body.Append("<h2>Memory on each profile</h2><section class=\"card\"><p class=\"hint\">Weights, the KV cache of the most sequences that fit, the compute buffer and the reserve, as shares of the profile's memory. A profile whose weights do not fit shows red.</p>");
            body.Append("<div class=\"table-wrap\" style=\"border:none\"><table><tbody>");
            foreach (var h in plan.Hardware)
            {
                var total = (double)h.MemoryBytes;
                var weights = plan.Model.WeightsBytes / total * 100;
                body.Append("<tr><td style=\"width:190px\">").Append(E(h.Profile)).Append("</td><td style=\"width:60%\"><div class=\"bar\">");
                if (h.Fits)
                {
                    body.Append(Segment(WeightsColor, weights)).Append(Segment(KvColor, h.KvBytesAtMaxSequences / total * 100))
                        .Append(Segment(ComputeColor, h.ComputeBufferBytes / total * 100)).Append(Segment(ReserveColor, h.ReservedBytes / total * 100));
                }
                else
                {
                    body.Append(Segment("#dc2626", 100));
                }

                body.Append("</div></td><td>").Append(h.Fits ? $"{Int(h.MaxSequences)} sequences" : "does not fit").Append("</td><td>").Append(E(Bytes(h.MemoryBytes))).Append("</td></tr>");
            }

            body.Append("</tbody></table></div><div class=\"legend-row\">")
                .Append(Legend(WeightsColor, "weights")).Append(Legend(KvColor, "KV cache at the most sequences")).Append(Legend(ComputeColor, "compute buffer")).Append(Legend(ReserveColor, "reserve"))
                .Append("</div></section>");
            body.Append("<h2>Fit and decode bounds</h2><div class=\"table-wrap\"><table><thead><tr><th>hardware</th><th>memory</th><th>bandwidth</th><th>KV budget</th><th>max sequences</th><th>1 seq, empty ctx</th><th>1 seq, full ctx</th>");
            var dc = plan.Hardware[0].DecodeContext;
            if (dc is not null)
            {
                body.Append("<th>1 seq, ").Append(Int(dc.Value)).Append(" ctx</th>");
            }

            body.Append("<th>all seqs batched</th><th>compute bound</th></tr></thead><tbody>");
            foreach (var h in plan.Hardware)
            {
                body.Append("<tr><td>").Append(E(h.Profile)).Append(h.Source == "spec sheet" ? "" : $" <span class=\"pill knee\">{E(h.Source)}</span>").Append("</td>")
                    .Append(Td(Bytes(h.MemoryBytes))).Append(Td(h.BandwidthGBps is { } bw ? $"{bw.ToString("0.#", CultureInfo.InvariantCulture)} GB/s" : "-"))
                    .Append(Td(h.KvBudgetBytes > 0 ? Bytes(h.KvBudgetBytes) : "weights do not fit")).Append(Td(Int(h.MaxSequences)))
                    .Append(Td(Tps(h.DecodeBoundEmptyTokensPerS))).Append(Td(Tps(h.DecodeBoundFullTokensPerS)));
                if (dc is not null)
                {
                    body.Append(Td(Tps(h.DecodeBoundAtContextTokensPerS)));
                }

                body.Append(Td(Tps(h.AggregateBoundAtMaxTokensPerS))).Append(Td(Tps(h.ComputeBoundTokensPerS))).Append("</tr>");
            }

            body.Append("</tbody></table></div><p class=\"hint\" style=\"margin-top:6px\">Bounds in output tokens per second; measured decode reaches a fraction of them.</p>");
        }

        if (plan.Replicas is not null)
        {
            body.Append("<h2>Replicas</h2><div class=\"grid\">");
            body.Append(ChartCard("chart-replicas", "Latency against replicas", "Simulated with Poisson arrivals at the target rate over the measured service curve; the dashed line is the objective."));
            body.Append(ChartCard("chart-curve", "Measured service curve", "From the bench: requests per second one replica completes, and its median latency, at each concurrency."));
            body.Append("</div>");
        }

        body.Append("<dl class=\"notes\">");
        foreach (var a in plan.Assumptions)
        {
            body.Append("<div><dt>Assumption:</dt><dd>").Append(E(a)).Append("</dd></div>");
        }

        body.Append("</dl>");
        var subtitle = plan.Model is { } model
            ? $"{model.Name ?? Path.GetFileName(model.Path)} ({model.Architecture}, {model.Quantization}) · {plan.CreatedAt.UtcDateTime:yyyy-MM-dd HH:mm}Z"
            : $"replica plan · {plan.CreatedAt.UtcDateTime:yyyy-MM-dd HH:mm}Z";
        return HtmlPage.Render("Capacity plan", subtitle, body.ToString(), plan, Script);
    }

    private static string Segment(string color, double percent) =>
        percent <= 0 ? "" : $"<span style=\"width:{Math.Min(100, percent).ToString("0.###", CultureInfo.InvariantCulture)}%;background:{color}\"></span>";

    private static string Legend(string color, string text) => $"<span><i style=\"background:{color}\"></i>{E(text)}</span>";

    private static string Td(string text) => $"<td>{E(text)}</td>";

    private static string Tps(double? value) => value is { } v ? Rate(v) : "-";

    private const string Script = """
        (function () {
          const R = REPORT.replicas;
          if (R) {
            const x = R.sweep.map(r => r.replicas);
            const pct = 'p' + R.slo_percentile;
            const hl = [];
            if (R.slo_e2e_ms) hl.push({ y: R.slo_e2e_ms, label: 'E2E ' + pct + ' limit ' + fmtNum(R.slo_e2e_ms) + ' ms' });
            if (R.slo_ttft_ms) hl.push({ y: R.slo_ttft_ms, label: 'TTFT ' + pct + ' limit ' + fmtNum(R.slo_ttft_ms) + ' ms' });
            lineChart('chart-replicas', { x, xLabel: 'replicas', xTicks: x, yLabel: 'ms', hlines: hl,
              markers: R.needed ? [{ x: R.needed, label: R.needed + ' needed' }] : [],
              series: [
                { label: 'E2E p50', values: R.sweep.map(r => r.latency_ms.p50), color: PALETTE[2] },
                { label: 'E2E p95', values: R.sweep.map(r => r.latency_ms.p95), color: PALETTE[0] },
                { label: 'E2E p99', values: R.sweep.map(r => r.latency_ms.p99), color: PALETTE[1], dash: [6, 4] },
                { label: 'TTFT p95', values: R.sweep.map(r => r.ttft_ms.p95), color: PALETTE[4] },
              ] });
            const c = R.curve;
            lineChart('chart-curve', { x: c.map(p => p.concurrency), xTicks: c.map(p => p.concurrency), xLabel: 'concurrency', yLabel: 'requests/s', y2Label: 'ms',
              logX: c.length > 1 && Math.max(...c.map(p => p.concurrency)) / Math.min(...c.map(p => p.concurrency)) >= 8,
              series: [
                { label: 'requests/s', values: c.map(p => p.requests_per_s), color: PALETTE[0] },
                { label: 'E2E p50 ms (right)', values: c.map(p => p.e2e_p50_ms), color: PALETTE[3], dash: [6, 4], y2: true },
              ] });
          }
          finish();
        })();
        """;
}
