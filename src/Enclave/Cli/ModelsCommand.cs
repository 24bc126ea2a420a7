using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Enclave.Native.Gguf;
using Spectre.Console;

namespace Enclave.Cli;

/// <summary><c>enclave models show PATH</c>: the metadata of a GGUF file, read by the managed validator.</summary>
internal static class ModelsCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create()
    {
        var path = new Argument<string>("PATH") { Description = "A .gguf file." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var show = new Command("show", "Print a GGUF file's metadata (architecture, size, quantization, context, template).") { path, json };
        show.SetAction(parse => Show(parse.GetValue(path)!, parse.GetValue(json)));
        return new Command("models", "Inspect model files.") { show };
    }

    private static int Show(string path, bool json)
    {
        GgufFile file;
        try
        {
            file = GgufReader.Read(path);
        }
        catch (InvalidModelFileException ex)
        {
            Console.Error.WriteLine($"enclave: invalid_model_file: {ex.Message}");
            return 1;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"enclave: cannot read '{path}': {ex.Message}");
            return 1;
        }

        var info = file.Info;
        var rows = new (string Key, string? Value)[]
        {
            ("file", Path.GetFullPath(path)),
            ("size_bytes", info.FileSizeBytes.ToString(CultureInfo.InvariantCulture)),
            ("gguf_version", file.Version.ToString(CultureInfo.InvariantCulture)),
            ("architecture", info.Architecture),
            ("name", info.Name),
            ("parameters", info.ParameterCount.ToString(CultureInfo.InvariantCulture)),
            ("quantization", info.Quantization),
            ("context_length", Text(info.ContextLength)),
            ("embedding_length", Text(info.EmbeddingLength)),
            ("layers", Text(info.BlockCount)),
            ("heads", Text(info.HeadCount)),
            ("kv_heads", Text(info.HeadCountKv)),
            ("head_dim", Text(info.HeadDimension)),
            ("feed_forward_length", Text(info.FeedForwardLength)),
            ("vocab_size", Text(info.VocabularySize)),
            ("tokenizer", info.TokenizerModel),
            ("pooling_type", Text(info.PoolingType)),
            ("tensors", file.Tensors.Count.ToString(CultureInfo.InvariantCulture)),
            ("chat_template", info.ChatTemplate),
        };
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(rows.ToDictionary(r => r.Key, r => r.Value), Indented));
            return 0;
        }

        var table = new Table().Border(TableBorder.Rounded).AddColumn("field").AddColumn("value");
        foreach (var (key, value) in rows)
        {
            table.AddRow(Markup.Escape(key), Markup.Escape(value ?? "-"));
        }

        AnsiConsole.Write(table);
        return 0;
    }

    private static string? Text(int? value) => value?.ToString(CultureInfo.InvariantCulture);
}
