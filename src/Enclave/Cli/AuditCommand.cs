using System.CommandLine;
using System.Text.Json;
using Enclave.Hosting;
using Enclave.Security.Audit;
using Enclave.Storage;

namespace Enclave.Cli;

/// <summary>
/// <c>enclave audit verify|export</c>: check the HMAC chain of the audit log (exit 0 intact, 1 with the first bad
/// record and the reason otherwise) and export it as JSON lines.
/// </summary>
internal static class AuditCommand
{
    public static Command Create() => new("audit", "Verify and export the tamper-evident audit log.")
    {
        VerifyCommand(),
        ExportCommand(),
    };

    private static Command VerifyCommand()
    {
        var dataDir = KeysCommand.DataDirOption();
        var command = new Command("verify", "Check every record's hash chain and the head checkpoint; exit 1 naming the first bad record.") { dataDir };
        command.SetAction((parse, ct) => KeysCommand.Guarded(async () =>
        {
            var database = new EnclaveDatabase(EnclaveConfiguration.ResolveDataDir(parse.GetValue(dataDir)));
            var result = await AuditVerifier.VerifyAsync(database, ct);
            if (result.Ok)
            {
                Console.WriteLine($"audit log intact: {result.RecordCount} records");
                return 0;
            }

            var where = result.FirstBadSeq is { } seq ? $"first bad record: seq {seq}" : "no single record";
            await Console.Error.WriteLineAsync($"enclave: audit log verification FAILED ({result.Failure}; {where}): {result.Reason}. {result.RecordCount} records verified before it.");
            return 1;
        }));
        return command;
    }

    private static Command ExportCommand()
    {
        var dataDir = KeysCommand.DataDirOption();
        var output = new Option<string?>("--output") { Description = "Write to this file instead of standard output." };
        var command = new Command("export", "Write the audit log as JSON lines, one record per line, in seq order.") { dataDir, output };
        command.SetAction((parse, ct) => KeysCommand.Guarded(async () =>
        {
            var database = new EnclaveDatabase(EnclaveConfiguration.ResolveDataDir(parse.GetValue(dataDir)));
            var path = parse.GetValue(output);
            var stream = path is null ? Console.OpenStandardOutput() : new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
            await using (stream)
            {
                var options = new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
                await foreach (var record in SqliteAuditLog.ReadAllAsync(database, ct))
                {
                    await using (var writer = new Utf8JsonWriter(stream, options))
                    {
                        Write(writer, record);
                    }

                    stream.WriteByte((byte)'\n');
                }

                await stream.FlushAsync(ct);
            }

            return 0;
        }));
        return command;
    }

    private static void Write(Utf8JsonWriter writer, AuditRecord record)
    {
        writer.WriteStartObject();
        writer.WriteNumber("seq", record.Seq);
        writer.WriteString("at", record.At);
        writer.WriteString("action", record.Action);
        writer.WriteString("actor", record.Actor);
        writer.WriteString("outcome", record.Outcome);
        writer.WriteString("target", record.Target);
        writer.WriteString("request_id", record.RequestId);
        writer.WriteString("remote_address", record.RemoteAddress);
        writer.WritePropertyName("details");
        WriteDetails(writer, record.DetailsJson);
        writer.WriteString("prev_hash", record.PrevHash);
        writer.WriteString("hash", record.Hash);
        writer.WriteEndObject();
    }

    private static void WriteDetails(Utf8JsonWriter writer, string? json)
    {
        if (json is null)
        {
            writer.WriteNullValue();
            return;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            document.RootElement.WriteTo(writer);
        }
        catch (JsonException)
        {
            // A damaged row is exported as it is stored; `audit verify` reports it.
            writer.WriteStringValue(json);
        }
    }
}
