using System.Globalization;
using Enclave.Capacity.Bench;
using Spectre.Console;

namespace Enclave.Capacity.Reports;

/// <summary>
/// The terminal side of <c>enclave bench</c>: a live progress display while levels run (only when stdout is an
/// interactive terminal; otherwise one line per finished level on stderr) and the summary table at the end.
/// </summary>
internal static class BenchConsole
{
    public static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="session"/> with progress shown the way the terminal allows.</summary>
    public static async Task<BenchResult> RunAsync(BenchSession session, BenchSettings settings, CancellationToken cancellationToken)
    {
        if (!Interactive)
        {
            return await session.RunAsync(
                new BenchObserver(
                    Status: s => Console.Error.WriteLine($"bench: {s}"),
                    LevelDone: (i, l) => Console.Error.WriteLine($"bench: level {i + 1}/{settings.Levels.Count} {l.Load.Label}: {l.Requests.Succeeded}/{l.Requests.Sent} ok, {Rate(l.Throughput.OutputTokensPerS)} tok/s, TTFT p50 {ConsoleFormat.Duration(l.TtftMs.P50)}, E2E p50 {ConsoleFormat.Duration(l.E2eMs.P50)}")),
                cancellationToken);
        }

        BenchResult? result = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var status = context.AddTask("preparing", maxValue: 1);
                var tasks = settings.Levels.Select(l => context.AddTask(Markup.Escape(l.Label), autoStart: false, maxValue: settings.Requests ?? settings.Duration!.Value.TotalSeconds)).ToArray();
                result = await session.RunAsync(
                    new BenchObserver(
                        Status: s => status.Description = Markup.Escape(s),
                        Progress: p =>
                        {
                            var task = tasks[p.LevelIndex];
                            if (!task.IsStarted)
                            {
                                task.StartTask();
                                status.Description = "running";
                                status.Value = 1;
                            }

                            var byCount = settings.Requests is { } n ? (double)p.Finished : 0;
                            var byTime = settings.Duration is { } d ? p.Elapsed.TotalSeconds / d.TotalSeconds * task.MaxValue : 0;
                            task.Value = Math.Min(task.MaxValue, Math.Max(byCount, byTime));
                            var rate = p.Elapsed.TotalSeconds > 0 ? p.OutputTokens / p.Elapsed.TotalSeconds : 0;
                            task.Description = Markup.Escape($"{p.Level.Label,-10} {p.Finished} done, {p.Failed} failed, {Rate(rate)} tok/s");
                        },
                        LevelDone: (i, _) =>
                        {
                            tasks[i].Value = tasks[i].MaxValue;
                            tasks[i].StopTask();
                        }),
                    cancellationToken);
                status.Description = "done";
                status.Value = 1;
                status.StopTask();
            });
        return result!;
    }

    public static void WriteSummary(BenchResult result, IReadOnlyList<string> written)
    {
        ConsoleFormat.UseRedirectedWidth();
        var title = $"{result.Target.Model} at {result.Target.RequestUrl}: {result.Source.Description}";
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(title)).Caption("times in ms").AddColumn(new TableColumn("load").NoWrap());
        // p90 and the rest are in the JSON and HTML; the terminal keeps the columns that fit 100 characters.
        string[] columns = ["ok/sent", "req/s", "out tok/s", "TTFT p50/p99", "ITL p50/p99", "TPOT p50", "E2E p50/p99"];
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        if (result.Slo is not null)
        {
            table.AddColumn(new TableColumn("SLO").RightAligned());
        }

        for (var i = 0; i < result.Levels.Count; i++)
        {
            var l = result.Levels[i];
            var label = Markup.Escape(l.Load.Label) + (result.Summary.Knee?.Index == i ? " [yellow](knee)[/]" : "");
            var ok = $"{l.Requests.Succeeded}/{l.Requests.Sent}";
            var cells = new List<string>
            {
                label,
                l.Requests.Failed > 0 ? $"[red]{ok}[/]" : ok,
                Rate(l.Throughput.RequestsPerS),
                Rate(l.Throughput.OutputTokensPerS),
                Two(l.TtftMs.P50, l.TtftMs.P99),
                Two(l.ItlMs.P50, l.ItlMs.P99),
                ConsoleFormat.Ms(l.TpotMs.P50),
                Two(l.E2eMs.P50, l.E2eMs.P99),
            };
            if (l.Slo is { } slo)
            {
                cells.Add(slo.Met ? $"[green]met[/] {ConsoleFormat.Percent(slo.Attainment)}" : $"[red]missed[/] {ConsoleFormat.Percent(slo.Attainment)}");
            }
            else if (result.Slo is not null)
            {
                cells.Add("-");
            }

            table.AddRow(cells.ToArray());
        }

        AnsiConsole.Write(table);
        foreach (var l in result.Levels.Where(l => l.Requests.Failed > 0))
        {
            var kinds = string.Join(", ", l.Requests.Errors.Select(e => $"{e.Key} x{e.Value}"));
            AnsiConsole.MarkupLine($"[red]errors at {Markup.Escape(l.Load.Label)}[/]: {Markup.Escape(kinds)}; first: {Markup.Escape((l.Requests.FirstErrors.Count > 0 ? l.Requests.FirstErrors[0] : ""))}");
        }

        if (result.Levels.Any(l => l.Requests.Succeeded > 0 && !l.UsageReported))
        {
            Console.WriteLine("note: the server reported no usage for some responses; their output tokens were counted from stream chunks.");
        }

        Console.WriteLine(result.Summary.Knee is { } knee
            ? $"knee: {knee.Label} ({Rate(knee.OutputTokensPerS)} output tok/s at E2E p50 {ConsoleFormat.Duration(knee.E2eP50Ms)}); beyond it latency grows faster than throughput."
            : $"knee: none found ({result.Summary.KneeNote}).");
        if (result.Slo is { } objective)
        {
            Console.WriteLine(result.Summary.BestUnderSlo is { } best
                ? $"highest load meeting the SLO ({Describe(objective)}): {best}, goodput {Rate(result.Levels[result.Summary.BestUnderSloIndex!.Value].Slo!.GoodputRequestsPerS)} req/s."
                : $"no load level met the SLO ({Describe(objective)}).");
        }

        foreach (var path in written)
        {
            Console.WriteLine($"wrote {path}");
        }
    }

    public static string Describe(BenchSlo slo)
    {
        var parts = new List<string>();
        if (slo.TtftMs is { } t)
        {
            parts.Add($"TTFT <= {ConsoleFormat.Duration(t)}");
        }

        if (slo.TpotMs is { } p)
        {
            parts.Add($"TPOT <= {ConsoleFormat.Duration(p)}");
        }

        if (slo.E2eMs is { } e)
        {
            parts.Add($"E2E <= {ConsoleFormat.Duration(e)}");
        }

        return $"{string.Join(", ", parts)} for {slo.Percentile.ToString("0.#", CultureInfo.InvariantCulture)}% of requests";
    }

    private static string Two(double a, double b) => $"{ConsoleFormat.Ms(a)}/{ConsoleFormat.Ms(b)}";

    private static string Rate(double value) => ConsoleFormat.Rate(value);
}
