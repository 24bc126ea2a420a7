using System.Globalization;
using Enclave.Capacity.Plan;
using Spectre.Console;
using static Enclave.Capacity.Reports.ConsoleFormat;

namespace Enclave.Capacity.Reports;

/// <summary>The terminal tables of <c>enclave plan</c>.</summary>
internal static class PlanConsole
{
    public static void Write(PlanResult plan, IReadOnlyList<string> written)
    {
        UseRedirectedWidth();
        if (plan.Model is { } m && plan.KvCache is { } kv)
        {
            var model = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(m.Name ?? Path.GetFileName(m.Path))).AddColumn("model").AddColumn("value");
            model.AddRow("file", Markup.Escape(m.Path));
            model.AddRow("architecture, quantization", Markup.Escape($"{m.Architecture}, {m.Quantization}"));
            model.AddRow("parameters", $"{m.Parameters / 1e6:0.0}M");
            model.AddRow("weights", Bytes(m.WeightsBytes));
            model.AddRow("weights read per token", Bytes(m.WeightsReadPerTokenBytes));
            model.AddRow("attention", $"{m.Layers} layers x {m.KvHeads} KV heads x ({m.KeyLength} + {m.ValueLength})");
            model.AddRow($"KV cache per token ({kv.TypeK}/{kv.TypeV})", Bytes(kv.BytesPerToken));
            model.AddRow($"KV cache per sequence ({Int(kv.Context)} tokens)", Bytes(kv.BytesPerSequence));
            AnsiConsole.Write(model);
        }

        if (plan.Hardware.Count > 0)
        {
            var context = plan.KvCache?.Context ?? 0;
            var dc = plan.Hardware[0].DecodeContext;
            var table = new Table().Border(TableBorder.Rounded).Title($"fit at {Int(context)} tokens per sequence; decode bounds in tokens/s").AddColumn(new TableColumn("hardware").NoWrap());
            var columns = new List<string> { "memory", "GB/s", "max seqs", "1 seq: empty / full ctx" };
            if (dc is not null)
            {
                columns.Add($"1 seq @ {Int(dc.Value)}");
            }

            columns.AddRange(["all seqs batched", "compute"]);
            foreach (var c in columns)
            {
                table.AddColumn(new TableColumn(c).RightAligned().NoWrap());
            }

            foreach (var h in plan.Hardware)
            {
                var cells = new List<string>
                {
                    Markup.Escape(h.Profile) + (h.Source == "spec sheet" ? "" : $" [grey]({Markup.Escape(h.Source)})[/]"),
                    Bytes(h.MemoryBytes),
                    h.BandwidthGBps is { } bw ? bw.ToString("0.#", CultureInfo.InvariantCulture) : "-",
                    h.Fits ? Int(h.MaxSequences) : "[red]no fit[/]",
                    $"{Tps(h.DecodeBoundEmptyTokensPerS)} / {Tps(h.DecodeBoundFullTokensPerS)}",
                };
                if (dc is not null)
                {
                    cells.Add(Tps(h.DecodeBoundAtContextTokensPerS));
                }

                cells.Add(Tps(h.AggregateBoundAtMaxTokensPerS));
                cells.Add(Tps(h.ComputeBoundTokensPerS));
                table.AddRow(cells.ToArray());
            }

            AnsiConsole.Write(table);
            if (plan.Hardware.Any(h => h.BoundsAtConcurrency.Count > 0))
            {
                var levels = plan.Hardware.First(h => h.BoundsAtConcurrency.Count > 0).BoundsAtConcurrency;
                var batched = new Table().Border(TableBorder.Rounded)
                    .Title($"batched decode bound, tokens/s, each sequence at {(dc is { } d ? Int(d) : Int(context / 2))} tokens")
                    .AddColumn(new TableColumn("hardware").NoWrap());
                foreach (var b in levels)
                {
                    batched.AddColumn(new TableColumn($"{Int(b.Concurrency)} seqs").RightAligned());
                }

                foreach (var h in plan.Hardware)
                {
                    batched.AddRow([Markup.Escape(h.Profile), .. h.BoundsAtConcurrency.Select(b => b.Fits ? Tps(b.TokensPerS) : "[red]no fit[/]")]);
                }

                AnsiConsole.Write(batched);
            }

            Console.WriteLine("Decode figures are upper bounds in output tokens/s from memory bandwidth (see assumptions in the JSON or HTML report).");
        }

        if (plan.Replicas is { } r)
        {
            var limits = string.Join(" and ", new[]
            {
                r.SloE2eMs is { } e ? $"E2E p{r.SloPercentile:0.#} <= {Duration(e)}" : null,
                r.SloTtftMs is { } t ? $"TTFT p{r.SloPercentile:0.#} <= {Duration(t)}" : null,
            }.OfType<string>());
            var table = new Table().Border(TableBorder.Rounded)
                .Title(Markup.Escape($"replicas for {Rate(r.TargetRequestsPerS)} req/s with {limits} ({r.Balancer} balancer, {r.SlotsPerReplica} slots each)"))
                .AddColumn("replicas");
            foreach (var c in new[] { "req/s each", "utilization", "E2E p50", "p95", "p99", "TTFT p95", "wait p95", "meets" })
            {
                table.AddColumn(new TableColumn(c).RightAligned());
            }

            foreach (var row in r.Sweep)
            {
                table.AddRow(
                    Int(row.Replicas), Rate(row.OfferedPerReplicaRps), Percent(row.Utilization),
                    Ms(row.LatencyMs.P50), Ms(row.LatencyMs.P95), Ms(row.LatencyMs.P99), Ms(row.TtftMs.P95), Ms(row.WaitMs.P95),
                    row.Meets ? "[green]yes[/]" : "[red]no[/]");
            }

            AnsiConsole.Write(table);
            Console.WriteLine(r.Needed is { } n
                ? $"replicas needed: {n} (each peaks at {Rate(r.PeakRequestsPerSPerReplica)} req/s on the measured curve; {r.MinimumForStability} merely keep up)."
                : $"replicas needed: not found ({r.Note}).");
        }

        foreach (var path in written)
        {
            Console.WriteLine($"wrote {path}");
        }
    }

    private static string Tps(double? value) => value is { } v ? Rate(v) : "-";
}
