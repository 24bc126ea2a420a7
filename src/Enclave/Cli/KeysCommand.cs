using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Enclave.Hosting;
using Enclave.Security.Audit;
using Enclave.Security.Keys;
using Enclave.Storage;
using Microsoft.Data.Sqlite;
using Spectre.Console;

namespace Enclave.Cli;

/// <summary>
/// <c>enclave keys create|list|revoke|rotate</c>: manage API keys in the data directory's database. A secret is
/// printed once, at create or rotate, and never again. Each change is audited with actor <c>cli</c>.
/// </summary>
internal static class KeysCommand
{
    private static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    private static readonly string[] ListColumns = ["name", "status", "models", "scopes", "limits", "expires"];

    public static Command Create() => new("keys", "Create, list, revoke and rotate API keys.")
    {
        CreateCommand(),
        ListCommand(),
        RevokeCommand(),
        RotateCommand(),
    };

    private static Command CreateCommand()
    {
        var name = new Option<string>("--name") { Description = "A name for the key (who or what uses it).", Required = true };
        var models = new Option<string?>("--models") { Description = "Comma-separated model globs the key may use (* and ?). Default: *." };
        var scopes = new Option<string?>("--scopes") { Description = $"Comma-separated scopes: {string.Join(", ", Scopes.All)}. Default: {string.Join(",", Scopes.Default)}." };
        var rpm = new Option<int?>("--rpm") { Description = "Requests per minute (default unlimited)." };
        var tpm = new Option<int?>("--tpm") { Description = "Tokens per minute (default unlimited)." };
        var concurrency = new Option<int?>("--concurrency") { Description = "Concurrent requests (default unlimited)." };
        var budget = new Option<long?>("--token-budget") { Description = "Tokens per budget period; needs --budget-period." };
        var period = new Option<string?>("--budget-period") { Description = "Budget window: day or month." };
        period.AcceptOnlyFromAmong("day", "month");
        var expires = new Option<string?>("--expires") { Description = "Lifetime, e.g. 30d, 12h, 1d12h (default: never expires)." };
        var json = JsonOption();
        var dataDir = DataDirOption();
        var command = new Command("create", "Create a key and print its secret once.") { name, models, scopes, rpm, tpm, concurrency, budget, period, expires, json, dataDir };
        command.SetAction((parse, ct) => Guarded(async () =>
        {
            var request = new CreateKeyRequest
            {
                Name = parse.GetValue(name)!,
                Models = SplitList(parse.GetValue(models)),
                Scopes = SplitList(parse.GetValue(scopes)),
                RequestsPerMinute = parse.GetValue(rpm),
                TokensPerMinute = parse.GetValue(tpm),
                Concurrency = parse.GetValue(concurrency),
                TokenBudget = parse.GetValue(budget),
                BudgetPeriod = parse.GetValue(period) is { } p ? Enum.Parse<BudgetPeriod>(p, ignoreCase: true) : null,
                ExpiresAfter = parse.GetValue(expires) is { } e ? DurationParser.Parse(e, "--expires") : null,
            };
            var (store, audit) = Open(parse.GetValue(dataDir));
            var issued = await store.CreateAsync(request, ct);
            PrintIssued(issued, parse.GetValue(json), extra: null);
            await audit.AppendAsync(new AuditEvent("keys.create", "cli", "success", issued.Key.Id, Details: new Dictionary<string, string>
            {
                ["name"] = issued.Key.Name,
                ["models"] = string.Join(",", issued.Key.Models),
                ["scopes"] = string.Join(",", issued.Key.Scopes),
            }), ct);
            return 0;
        }));
        return command;
    }

    private static Command ListCommand()
    {
        var json = JsonOption();
        var dataDir = DataDirOption();
        var command = new Command("list", "List keys and their settings (never their secrets).") { json, dataDir };
        command.SetAction((parse, ct) => Guarded(async () =>
        {
            var (store, _) = Open(parse.GetValue(dataDir));
            var keys = await store.ListAsync(ct);
            var now = TimeProvider.System.GetUtcNow();
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(keys.Select(k => KeyView.From(k, Status(k, now))), SnakeCase));
                return 0;
            }

            // Ids never wrap, so they can be copied from a narrow terminal; limits share one column to keep it narrow.
            var table = new Table().Border(TableBorder.Rounded).AddColumn(new TableColumn("id").NoWrap());
            foreach (var column in ListColumns)
            {
                table.AddColumn(column);
            }

            foreach (var k in keys)
            {
                var limits = string.Join(" ", new[]
                {
                    k.RequestsPerMinute is { } r ? $"rpm={Number(r)}" : null,
                    k.TokensPerMinute is { } t ? $"tpm={Number(t)}" : null,
                    k.Concurrency is { } c ? $"conc={Number(c)}" : null,
                    k.TokenBudget is { } b ? $"budget={b.ToString(CultureInfo.InvariantCulture)}/{PeriodText(k.BudgetPeriod)}" : null,
                }.OfType<string>());
                table.AddRow(
                    k.Id, Markup.Escape(k.Name), Status(k, now), Markup.Escape(string.Join(",", k.Models)), string.Join(",", k.Scopes),
                    limits.Length == 0 ? "-" : limits, k.ExpiresAt is { } x ? Time(x) : "never");
            }

            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }

    private static Command RevokeCommand()
    {
        var id = new Argument<string>("ID") { Description = "The key id (the 12 characters after enc_)." };
        var dataDir = DataDirOption();
        var command = new Command("revoke", "Revoke a key at once.") { id, dataDir };
        command.SetAction((parse, ct) => Guarded(async () =>
        {
            var keyId = parse.GetValue(id)!;
            var (store, audit) = Open(parse.GetValue(dataDir));
            if (!await store.RevokeAsync(keyId, ct))
            {
                await Console.Error.WriteLineAsync($"enclave: no active key with id '{keyId}' (see enclave keys list).");
                return 1;
            }

            await audit.AppendAsync(new AuditEvent("keys.revoke", "cli", "success", keyId), ct);
            Console.WriteLine($"Revoked key {keyId}.");
            return 0;
        }));
        return command;
    }

    private static Command RotateCommand()
    {
        var id = new Argument<string>("ID") { Description = "The key id to rotate." };
        var grace = new Option<string>("--grace") { Description = "How long the old key keeps working, e.g. 0s, 15m, 24h (default 24h).", DefaultValueFactory = _ => "24h" };
        var json = JsonOption();
        var dataDir = DataDirOption();
        var command = new Command("rotate", "Issue a new key with the same settings; the old one expires after the grace period.") { id, grace, json, dataDir };
        command.SetAction((parse, ct) => Guarded(async () =>
        {
            var keyId = parse.GetValue(id)!;
            var graceText = parse.GetValue(grace)!;
            // "0s" (or "0") ends the old key at once; the duration parser itself only accepts positive durations.
            var gracePeriod = graceText is "0" or "0s" ? TimeSpan.Zero : DurationParser.Parse(graceText, "--grace");
            var (store, audit) = Open(parse.GetValue(dataDir));
            var issued = await store.RotateAsync(keyId, gracePeriod, ct);
            if (issued is null)
            {
                await Console.Error.WriteLineAsync($"enclave: no active key with id '{keyId}' (see enclave keys list).");
                return 1;
            }

            PrintIssued(issued, parse.GetValue(json), extra: ("rotated_from", keyId));
            await audit.AppendAsync(new AuditEvent("keys.rotate", "cli", "success", keyId, Details: new Dictionary<string, string>
            {
                ["new_id"] = issued.Key.Id,
                ["grace"] = DurationParser.Format(gracePeriod),
            }), ct);
            return 0;
        }));
        return command;
    }

    private static void PrintIssued(IssuedKey issued, bool json, (string Name, string Value)? extra)
    {
        if (json)
        {
            var body = new Dictionary<string, string> { ["id"] = issued.Key.Id, ["key"] = issued.Secret };
            if (extra is { } e)
            {
                body[e.Name] = e.Value;
            }

            Console.WriteLine(JsonSerializer.Serialize(body));
            return;
        }

        var table = new Table().Border(TableBorder.Rounded).AddColumn("field").AddColumn("value");
        table.AddRow("id", issued.Key.Id);
        table.AddRow("name", Markup.Escape(issued.Key.Name));
        table.AddRow("models", Markup.Escape(string.Join(",", issued.Key.Models)));
        table.AddRow("scopes", string.Join(",", issued.Key.Scopes));
        table.AddRow("expires", issued.Key.ExpiresAt is { } x ? Time(x) : "never");
        if (extra is { } more)
        {
            table.AddRow(more.Name, Markup.Escape(more.Value));
        }

        AnsiConsole.Write(table);
        // The key goes on a line of its own so a narrow terminal cannot wrap it inside a table cell.
        Console.WriteLine("API key (shown only now; store it safely):");
        Console.WriteLine(issued.Secret);
    }

    internal static async Task<int> Guarded(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"enclave: invalid key request: {ex.Message.Replace(" (Parameter 'request')", "", StringComparison.Ordinal)}");
        }
        catch (FormatException ex)
        {
            await Console.Error.WriteLineAsync($"enclave: {ex.Message}");
        }
        catch (InvalidOperationException ex)
        {
            await Console.Error.WriteLineAsync($"enclave: {ex.Message}");
        }
        catch (SqliteException ex)
        {
            await Console.Error.WriteLineAsync($"enclave: database error: {ex.Message}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"enclave: cannot use the data directory: {ex.Message}");
        }

        return 1;
    }

    internal static Option<string?> DataDirOption() => new("--data-dir") { Description = "Data directory (default: $ENCLAVE_HOME, else $XDG_DATA_HOME/enclave)." };

    private static Option<bool> JsonOption() => new("--json") { Description = "Print JSON instead of a table." };

    private static (SqliteApiKeyStore Store, SqliteAuditLog Audit) Open(string? dataDir)
    {
        var database = new EnclaveDatabase(EnclaveConfiguration.ResolveDataDir(dataDir));
        return (new SqliteApiKeyStore(database, TimeProvider.System), new SqliteAuditLog(database, TimeProvider.System));
    }

    private static string[]? SplitList(string? text) =>
        text is null ? null : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string Status(ApiKeyRecord key, DateTimeOffset now) =>
        key.RevokedAt is not null ? "revoked" : key.ExpiresAt is { } x && now >= x ? "expired" : "active";

    private static string Number(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";

    private static string Time(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture);

    private static string PeriodText(BudgetPeriod? period) => period switch
    {
        BudgetPeriod.Day => "day",
        BudgetPeriod.Month => "month",
        _ => "-",
    };

    /// <summary>What <c>keys list --json</c> prints for one key: its settings and status, never a secret or hash.</summary>
    private sealed record KeyView(
        string Id, string Name, string Status, IReadOnlyList<string> Models, IReadOnlyList<string> Scopes,
        int? RequestsPerMinute, int? TokensPerMinute, int? Concurrency, long? TokenBudget, string? BudgetPeriod,
        DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt)
    {
        public static KeyView From(ApiKeyRecord k, string status) => new(
            k.Id, k.Name, status, k.Models, k.Scopes, k.RequestsPerMinute, k.TokensPerMinute, k.Concurrency, k.TokenBudget,
            k.BudgetPeriod is null ? null : PeriodText(k.BudgetPeriod), k.CreatedAt, k.ExpiresAt, k.RevokedAt);
    }
}
