using Enclave.Capacity.Cost;
using Spectre.Console;
using static Enclave.Capacity.Reports.ConsoleFormat;

namespace Enclave.Capacity.Reports;

/// <summary>The terminal tables of <c>enclave cost</c>.</summary>
internal static class CostConsole
{
    public static void Write(CostResult result, IReadOnlyList<string> written)
    {
        ConsoleFormat.UseRedirectedWidth();
        var i = result.Inputs;
        var l = result.Local;
        var local = new Table().Border(TableBorder.Rounded).Title("local serving, per month").AddColumn("item").AddColumn(new TableColumn("value").RightAligned());
        local.AddRow("hardware", Markup.Escape($"{(i.Hardware is null ? "" : i.Hardware + ", ")}{Money(i.PriceUsd)} over {i.AmortizationMonths:0.#} months"));
        local.AddRow("amortization", Money(l.AmortizationMonthlyUsd));
        local.AddRow("energy", Markup.Escape($"{Money(l.EnergyMonthlyUsd)} ({i.PowerWatts:0} W load, {i.IdlePowerWatts:0} W idle, {i.EnergyPricePerKwh:0.###}/kWh, PUE {i.Pue:0.##})"));
        local.AddRow("other", Money(l.OtherMonthlyUsd));
        local.AddRow("[bold]total[/]", $"[bold]{Money(l.TotalMonthlyUsd)}[/]");
        local.AddRow("throughput when busy", Markup.Escape($"{Rate(i.OutputTokensPerS)} out + {Rate(i.InputTokensPerS)} in tok/s ({i.ThroughputSource})"));
        local.AddRow("utilization", Percent(i.Utilization));
        local.AddRow("tokens per month", $"{Int((long)l.OutputTokensPerMonth)} out, {Int((long)l.InputTokensPerMonth)} in");
        local.AddRow("[bold]per million output tokens[/]", $"[bold]{Money(l.UsdPerMillionOutputTokens)}[/]");
        local.AddRow("per million tokens (in + out)", Money(l.UsdPerMillionTokens));
        if (l.UsdPerThousandRequests is { } k)
        {
            local.AddRow("per thousand requests", Money(k));
        }

        AnsiConsole.Write(local);
        var cloud = new Table().Border(TableBorder.Rounded).Title("against cloud APIs, same tokens").AddColumn("API");
        foreach (var c in new[] { "$/M in", "$/M out", "$/M at this mix", "cloud / month", "cloud / local", "break-even utilization" })
        {
            cloud.AddColumn(new TableColumn(c).RightAligned());
        }

        cloud.AddColumn("verdict");
        foreach (var c in result.Cloud)
        {
            cloud.AddRow(
                Markup.Escape(c.Name), Money(c.InputPerMillion), Money(c.OutputPerMillion), Money(c.UsdPerMillionTokensAtMix), Money(c.MonthlyUsdSameVolume),
                $"{c.CloudToLocalRatio:0.00}x", c.BreakEvenUtilization is { } u ? Percent(u) : "never", Markup.Escape(c.Verdict));
        }

        AnsiConsole.Write(cloud);
        if (result.Chargeback is { } charge)
        {
            var table = new Table().Border(TableBorder.Rounded)
                .Title(Markup.Escape($"chargeback by key{(charge.Since is { } s ? $" since {s.UtcDateTime:yyyy-MM-dd HH:mm}Z" : "")} (prompt tokens weigh {i.InputTokenWeight:0.###})"))
                .AddColumn("key");
            foreach (var c in new[] { "requests", "prompt tokens", "completion tokens", "share", "local cost" })
            {
                table.AddColumn(new TableColumn(c).RightAligned());
            }

            if (charge.CloudModel is not null)
            {
                table.AddColumn(new TableColumn($"at {Markup.Escape(charge.CloudModel)}").RightAligned());
            }

            foreach (var row in charge.Keys.Append(charge.Total))
            {
                var cells = new List<string> { Markup.Escape(row.Key), Int(row.Requests), Int(row.PromptTokens), Int(row.CompletionTokens), Percent(row.Share), Money(row.LocalUsd) };
                if (charge.CloudModel is not null)
                {
                    cells.Add(Money(row.CloudUsd ?? 0));
                }

                table.AddRow(cells.ToArray());
            }

            AnsiConsole.Write(table);
        }

        foreach (var path in written)
        {
            Console.WriteLine($"wrote {path}");
        }
    }
}
