using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Enclave.Hosting;
using Enclave.Ledger;
using Enclave.Storage;
using Spectre.Console;

namespace Enclave.Cli;

/// <summary>
/// <c>enclave usage [--since DATE|DURATION] [--by key|model|backend|day] [--json] [--data-dir DIR]</c>: totals from
/// the usage ledger, as a table or as the same JSON as <c>GET /admin/usage</c>.
/// </summary>
internal static class UsageCommand
{
    private static readonly string[] NumberColumns = ["requests", "prompt tokens", "completion tokens", "errors", "avg latency ms", "p95 ttft ms"];

    public static Command Create()
    {
        var since = new Option<string?>("--since") { Description = "Only requests from this time on: a duration back from now (24h, 7d), a date (2025-06-01, UTC) or an ISO-8601 time." };
        var by = new Option<string>("--by") { Description = "Group by key, model, backend or day (UTC).", DefaultValueFactory = _ => "key" };
        by.AcceptOnlyFromAmong("key", "model", "backend", "day");
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var dataDir = KeysCommand.DataDirOption();
        var command = new Command("usage", "Show requests, tokens, errors and latency from the usage ledger.") { since, by, json, dataDir };
        command.SetAction((parse, ct) => KeysCommand.Guarded(async () =>
        {
            _ = LedgerQueries.TryParseGrouping(parse.GetValue(by), out var grouping);
            DateTimeOffset? from = null;
            if (parse.GetValue(since) is { } text)
            {
                from = LedgerQueries.TryParseSince(text, TimeProvider.System.GetUtcNow(), out var parsed)
                    ? parsed
                    : throw new FormatException($"--since '{text}' is not a time. {LedgerQueries.SinceHelp}");
            }

            var database = new EnclaveDatabase(EnclaveConfiguration.ResolveDataDir(parse.GetValue(dataDir)));
            var rows = await LedgerQueries.UsageAsync(database, from, grouping, ct);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new UsageReport(grouping.ToString().ToLowerInvariant(), from, rows), AdminUsageEndpoints.Json));
                return 0;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumn(new TableColumn(grouping.ToString().ToLowerInvariant()).NoWrap());
            foreach (var column in NumberColumns)
            {
                table.AddColumn(new TableColumn(column).RightAligned());
            }

            foreach (var row in rows)
            {
                table.AddRow(
                    Markup.Escape(row.Group),
                    N(row.Requests),
                    N(row.PromptTokens),
                    N(row.CompletionTokens),
                    N(row.Errors),
                    row.AvgLatencyMs.ToString("F1", CultureInfo.InvariantCulture),
                    row.P95TimeToFirstTokenMs?.ToString("F1", CultureInfo.InvariantCulture) ?? "-");
            }

            AnsiConsole.Write(table);
            if (rows.Count == 0)
            {
                Console.WriteLine("no requests recorded" + (from is { } f ? $" since {f.UtcDateTime:yyyy-MM-dd HH:mm}Z" : ""));
            }

            return 0;
        }));
        return command;
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
