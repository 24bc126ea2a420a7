using System.Globalization;
using System.Text;
using System.Text.Json;
using Enclave.Backends;
using Enclave.Native.Gguf;
using Enclave.Security.Auth;

namespace Enclave.Api.Ollama;

/// <summary>
/// <c>/api/tags</c>, <c>/api/ps</c> and <c>/api/show</c>: the models a key may use. Local models are described from
/// their GGUF files; models served by remote backends (and route names) are listed by name, with what the gateway
/// cannot know left empty.
/// </summary>
public static partial class OllamaEndpoints
{
    private static async Task TagsAsync(HttpContext context, ModelRouter router, ModelsOptions options, OllamaModelCatalog catalog)
    {
        var rows = new List<(string Name, string? Path, GgufFile? File, string Digest)>();
        foreach (var (name, _) in router.PublicModels().Where(m => EnclaveClaims.CanUseModel(context.User, m.Model)).OrderBy(m => m.Model, StringComparer.Ordinal))
        {
            var path = options.Models.TryGetValue(name, out var local) ? local.Path : null;
            rows.Add(path is null ? (name, null, null, "") : (name, path, catalog.Read(path), await DigestAsync(catalog, path, context.RequestAborted)));
        }

        await WriteJsonAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("models");
            foreach (var (name, path, file, digest) in rows)
            {
                w.WriteStartObject();
                WriteModelFields(w, name, path, file, digest);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static async Task RunningAsync(HttpContext context, LocalModels models, ModelsOptions options, TimeProvider time, OllamaModelCatalog catalog)
    {
        var rows = new List<(LoadedModel Loaded, string Path, GgufFile? File, string Digest)>();
        foreach (var loaded in OllamaLoadedModels.List(models, time).Where(l => EnclaveClaims.CanUseModel(context.User, l.Worker.Name)).OrderBy(l => l.Worker.Name, StringComparer.Ordinal))
        {
            var path = options.Models[loaded.Worker.Name].Path;
            rows.Add((loaded, path, catalog.Read(path), await DigestAsync(catalog, path, context.RequestAborted)));
        }

        await WriteJsonAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("models");
            foreach (var (loaded, path, file, digest) in rows)
            {
                w.WriteStartObject();
                WriteModelFields(w, loaded.Worker.Name, path, file, digest);
                w.WriteString("expires_at", OllamaWire.Rfc3339(loaded.ExpiresAt));
                // Workers run llama.cpp on the CPU: no model memory is on a GPU.
                w.WriteNumber("size_vram", 0);
                if (loaded.Worker.ContextPerSequence is { } contextLength)
                {
                    w.WriteNumber("context_length", contextLength);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static async Task ShowAsync(HttpContext context, LocalModels models, ModelRouter router, ModelsOptions options, ApiLimits limits, OllamaModelCatalog catalog)
    {
        string? requested = null;
        bool verbose;
        try
        {
            var bytes = await RequestGuard.ReadBodyAsync(context.Request, limits.MaxBodyBytes, context.RequestAborted);
            var field = RequestGuard.Inspect(bytes.Span, limits.MaxJsonDepth, rejectForwardingFields: true);
            using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = limits.MaxJsonDepth });
            var root = document.RootElement;
            // Older clients send the model as "name".
            if (field.Token == JsonTokenType.None && root.TryGetProperty("name", out var name))
            {
                field = new ModelField(name.ValueKind == JsonValueKind.String ? JsonTokenType.String : JsonTokenType.Number, name.ValueKind == JsonValueKind.String ? name.GetString() : null);
            }

            requested = RequestGuard.CheckModel(field, limits.MaxModelNameLength);
            verbose = root.TryGetProperty("verbose", out var v) && v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False or JsonValueKind.Null => false,
                _ => throw OllamaError.BadRequest("verbose must be true or false."),
            };
        }
        catch (ApiErrorException ex)
        {
            await OllamaError.WriteResponseAsync(context, ex.Error, requested);
            return;
        }

        var model = OllamaWire.Resolve(requested, router.IsKnown);
        if (!EnclaveClaims.CanUseModel(context.User, model) || !router.IsKnown(model))
        {
            await OllamaError.WriteResponseAsync(context, ApiError.ModelNotFound(model), requested);
            return;
        }

        if (models.Find(model) is not { } worker || !options.Models.TryGetValue(model, out var settings))
        {
            await WriteJsonAsync(context, w =>
            {
                w.WriteStartObject();
                w.WriteString("modelfile", Modelfile(model, "", ""));
                w.WriteString("parameters", "");
                w.WriteString("template", "");
                OllamaModelCatalog.WriteDetails(w, null, local: false);
                w.WriteStartObject("model_info");
                w.WriteEndObject();
                w.WriteEndObject();
            });
            return;
        }

        var file = catalog.Read(settings.Path);
        var contextLength = worker.ContextPerSequence ?? settings.EffectiveContextSize(file?.Info.ContextLength ?? 0);
        var template = file?.Info.ChatTemplate ?? "";
        var parameters = new StringBuilder();
        foreach (var (key, value) in OllamaOptions.Defaults)
        {
            parameters.Append(CultureInfo.InvariantCulture, $"{key,-16}{value}\n");
        }

        parameters.Append(CultureInfo.InvariantCulture, $"{"num_ctx",-16}{contextLength}");
        await WriteJsonAsync(context, w =>
        {
            w.WriteStartObject();
            if (file?.GetValue("general.license") is { Type: GgufValueType.String } license)
            {
                w.WriteString("license", license.AsString());
            }

            w.WriteString("modelfile", Modelfile(model, template, parameters.ToString()));
            w.WriteString("parameters", parameters.ToString());
            w.WriteString("template", template);
            OllamaModelCatalog.WriteDetails(w, file, local: true);
            w.WriteStartObject("model_info");
            if (file is not null)
            {
                WriteModelInfo(w, file, verbose);
            }

            w.WriteEndObject();
            w.WriteStartArray("capabilities");
            w.WriteStringValue(OllamaModelCatalog.Capability(file));
            w.WriteEndArray();
            w.WriteString("modified_at", OllamaWire.Rfc3339(OllamaModelCatalog.ModifiedAt(settings.Path)));
            w.WriteEndObject();
        });
    }

    /// <summary>A model's listing; <paramref name="path"/> is null for a model the gateway has no file of (its time is the epoch, its size 0).</summary>
    private static void WriteModelFields(Utf8JsonWriter w, string name, string? path, GgufFile? file, string digest)
    {
        var listed = OllamaWire.ListedName(name);
        w.WriteString("name", listed);
        w.WriteString("model", listed);
        w.WriteString("modified_at", OllamaWire.Rfc3339(path is null ? DateTimeOffset.UnixEpoch : OllamaModelCatalog.ModifiedAt(path)));
        w.WriteNumber("size", file?.FileSize ?? (path is not null && File.Exists(path) ? new FileInfo(path).Length : 0));
        w.WriteString("digest", digest);
        OllamaModelCatalog.WriteDetails(w, file, local: path is not null);
    }

    private static async Task<string> DigestAsync(OllamaModelCatalog catalog, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await catalog.DigestAsync(path, cancellationToken);
        }
        catch (IOException)
        {
            // An unreadable file has no digest; its worker reports why it does not start.
            return "";
        }
    }

    // Ollama's Modelfile text; FROM names the model rather than the file, so no server path is disclosed.
    private static string Modelfile(string model, string template, string parameters)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# Modelfile of the model '{model}' served by Enclave\nFROM {model}\n");
        if (template.Length > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"TEMPLATE \"\"\"{template}\"\"\"\n");
        }

        foreach (var line in parameters.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            text.Append("PARAMETER ").Append(line).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>
    /// The GGUF metadata as Ollama's <c>model_info</c>, keys sorted, plus <c>general.parameter_count</c> from the
    /// tensors. Arrays (vocabularies, merges) are null unless <paramref name="verbose"/>, as Ollama does.
    /// </summary>
    private static void WriteModelInfo(Utf8JsonWriter w, GgufFile file, bool verbose)
    {
        const string parameterCount = "general.parameter_count";
        var keys = file.MetadataKeys.Append(parameterCount).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            w.WritePropertyName(key);
            if (key == parameterCount && file.GetValue(key) is null)
            {
                w.WriteNumberValue(file.Info.ParameterCount);
            }
            else
            {
                WriteValue(w, file.GetValue(key)!, verbose);
            }
        }
    }

    private static void WriteValue(Utf8JsonWriter w, GgufValue value, bool verbose)
    {
        switch (value.Value)
        {
            case string s:
                w.WriteStringValue(s);
                break;
            case bool b:
                w.WriteBooleanValue(b);
                break;
            case float f when float.IsFinite(f):
                w.WriteNumberValue(f);
                break;
            case double d when double.IsFinite(d):
                w.WriteNumberValue(d);
                break;
            case ulong u:
                w.WriteNumberValue(u);
                break;
            case GgufArray array when verbose:
                w.WriteStartArray();
                foreach (var item in array)
                {
                    WriteValue(w, item, verbose);
                }

                w.WriteEndArray();
                break;
            case GgufArray:
                w.WriteNullValue();
                break;
            case float or double:
                // JSON has no NaN or infinity.
                w.WriteNullValue();
                break;
            default:
                w.WriteNumberValue(value.AsInt64());
                break;
        }
    }
}
