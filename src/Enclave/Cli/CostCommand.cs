using System.CommandLine;
using Enclave.Capacity;
using Enclave.Capacity.Bench;
using Enclave.Capacity.Cost;
using Enclave.Capacity.Hardware;
using Enclave.Capacity.Reports;
using Enclave.Hosting;
using Enclave.Ledger;
using Enclave.Storage;

namespace Enclave.Cli;

/// <summary>
/// <c>enclave cost [--bench FILE | --throughput N] [--price USD] [--power W] ... [--cloud LIST] [--since D]
/// [--data-dir DIR] [--json FILE]</c>: cost per million tokens on local hardware from measured throughput, against
/// cloud prices, the break-even volume, and per-key chargeback from the usage ledger when it has requests.
/// </summary>
internal static class CostCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "enclave.json with Capacity:Cost and Capacity:Hardware (default: ./enclave.json, else the config directory)." };
        var bench = new Option<string?>("--bench") { Description = "An enclave bench --json result: the measured throughput and token mix." };
        var level = new Option<string?>("--level") { Description = "The bench level to price, e.g. c=8 (default: best under the bench's SLO, else the knee, else the peak)." };
        var throughput = new Option<string?>("--throughput") { Description = "Output tokens per second of one busy server, instead of --bench." };
        var inputThroughput = new Option<string?>("--input-throughput") { Description = "With --throughput: prompt tokens per second processed alongside." };
        var hardware = new Option<string?>("--hardware") { Description = "Hardware profile whose price and power apply when not given (default: Capacity:Cost:Hardware)." };
        var price = new Option<string?>("--price") { Description = "Purchase price of the server (default: Capacity:Cost:PriceUsd)." };
        var amortization = new Option<string?>("--amortization") { Description = "Months to write the price off over (default: Capacity:Cost:AmortizationMonths, 36)." };
        var power = new Option<string?>("--power") { Description = "Power draw under load in watts (default: Capacity:Cost:PowerWatts, else the profile's)." };
        var idlePower = new Option<string?>("--idle-power") { Description = "Power draw when idle in watts (default: the load figure)." };
        var energy = new Option<string?>("--energy-price") { Description = "Energy price per kWh (default: Capacity:Cost:EnergyPricePerKwh, 0.15)." };
        var pue = new Option<string?>("--pue") { Description = "Data-centre power usage effectiveness (default 1)." };
        var utilization = new Option<string?>("--utilization") { Description = "Busy share of the month, e.g. 0.5 or 50% (default: Capacity:Cost:Utilization, 0.5)." };
        var other = new Option<string?>("--other-monthly") { Description = "Other fixed costs per month (hosting, support)." };
        var cloud = new Option<string?>("--cloud") { Description = "Cloud APIs to compare: configured names, or NAME=IN/OUT prices per million tokens (default: all configured, else built-in list prices)." };
        var since = new Option<string?>("--since") { Description = "Chargeback window: 30d, 24h, 2025-06-01 (default: 30d).", DefaultValueFactory = _ => "30d" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Data directory whose ledger feeds the chargeback (default: $ENCLAVE_HOME, else $XDG_DATA_HOME/enclave)." };
        var json = new Option<string?>("--json") { Description = "Write the result as JSON." };
        var command = new Command("cost", "Cost per million tokens on local hardware from measured throughput, against cloud prices, with break-even and per-key chargeback.")
        {
            config, bench, level, throughput, inputThroughput, hardware, price, amortization, power, idlePower, energy, pue, utilization, other, cloud, since, dataDir, json,
        };
        command.Action = new CapacityCommandAction("cost", async (parse, ct) =>
        {
            var options = CapacityConfiguration.Load(parse.GetValue(config));
            var benchPath = parse.GetValue(bench);
            var result = benchPath is null ? null : await CapacityJson.ReadAsync<BenchResult>(benchPath, "--bench", ct);
            if (parse.GetValue(level) is not null && result is null)
            {
                throw new CapacityUsageException("--level needs --bench.");
            }

            if (parse.GetValue(inputThroughput) is not null && parse.GetValue(throughput) is null)
            {
                throw new CapacityUsageException("--input-throughput needs --throughput.");
            }

            var given = new CostInputsBuilder.GivenValues
            {
                Hardware = parse.GetValue(hardware),
                PriceUsd = Number(parse.GetValue(price), "--price", "25000", allowZero: true),
                AmortizationMonths = Bounded(Number(parse.GetValue(amortization), "--amortization", "36"), "--amortization", 600),
                PowerWatts = Number(parse.GetValue(power), "--power", "700"),
                IdlePowerWatts = Number(parse.GetValue(idlePower), "--idle-power", "100", allowZero: true),
                EnergyPricePerKwh = Number(parse.GetValue(energy), "--energy-price", "0.15", allowZero: true),
                Pue = Bounded(Number(parse.GetValue(pue), "--pue", "1.3"), "--pue", 5, 1),
                Utilization = parse.GetValue(utilization) is { } u ? CapacityParse.Fraction(u, "--utilization") : null,
                OtherMonthlyUsd = Number(parse.GetValue(other), "--other-monthly", "200", allowZero: true),
                OutputTokensPerS = Number(parse.GetValue(throughput), "--throughput", "850"),
                InputTokensPerS = Number(parse.GetValue(inputThroughput), "--input-throughput", "1700", allowZero: true),
                Level = parse.GetValue(level),
            };
            var inputs = CostInputsBuilder.Build(options.Cost, HardwareProfiles.All(options), given, result, benchPath is null ? null : Path.GetFileName(benchPath));
            var local = CostCalculator.Local(inputs);
            var prices = Prices(parse.GetValue(cloud), options.Cost);
            var comparisons = prices.Select(p => CostCalculator.Compare(inputs, local, p)).ToList();

            Chargeback? chargeback = null;
            var ledgerDir = EnclaveConfiguration.ResolveDataDir(parse.GetValue(dataDir));
            var ledgerFile = Path.Combine(ledgerDir, "enclave.db");
            var sinceText = parse.GetValue(since)!;
            if (!LedgerQueries.TryParseSince(sinceText, TimeProvider.System.GetUtcNow(), out var from))
            {
                throw new CapacityUsageException($"--since '{sinceText}' is not a time. {LedgerQueries.SinceHelp}");
            }

            // Only an existing ledger is read: opening a database would create the data directory.
            if (File.Exists(ledgerFile))
            {
                var rows = await LedgerQueries.UsageAsync(new EnclaveDatabase(ledgerDir), from, UsageGrouping.Key, ct);
                if (rows.Count > 0)
                {
                    chargeback = CostCalculator.Charge(rows, from, inputs, local, prices.Count > 0 ? prices[0] : null);
                }
            }

            var cost = new CostResult
            {
                CreatedAt = TimeProvider.System.GetUtcNow(),
                Inputs = inputs,
                Local = local,
                Cloud = comparisons,
                Chargeback = chargeback,
                Assumptions = CostCalculator.Assumptions,
            };
            var written = new List<string>();
            if (parse.GetValue(json) is { } jsonPath)
            {
                await CapacityJson.WriteAsync(jsonPath, cost, ct);
                written.Add(Path.GetFullPath(jsonPath));
            }

            CostConsole.Write(cost, written);
            if (chargeback is null)
            {
                Console.WriteLine($"chargeback: no requests in the ledger at {ledgerFile} since {from.UtcDateTime:yyyy-MM-dd HH:mm}Z.");
            }

            return 0;
        });
        return command;
    }

    private static IReadOnlyList<CloudPrice> Prices(string? list, CostOptions options)
    {
        var known = CloudPrice.From(options);
        if (list is null)
        {
            return known;
        }

        return list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(item => item.Contains('=', StringComparison.Ordinal)
                ? CloudPrice.Parse(item, "--cloud")
                : known.Concat(CloudPrice.Defaults).FirstOrDefault(p => p.Name.Equals(item, StringComparison.OrdinalIgnoreCase)) ?? CloudPrice.Parse(item, "--cloud"))
            .ToList();
    }

    private static double? Number(string? text, string option, string example, bool allowZero = false) =>
        text is null ? null : CapacityParse.Positive(text, option, example, allowZero);

    private static double? Bounded(double? value, string option, double max, double min = 0) =>
        value is { } v && (v > max || v < min) ? throw new CapacityUsageException($"{option} must be from {min} to {max}.") : value;
}
