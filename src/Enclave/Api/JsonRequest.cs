using System.Text.Json;

namespace Enclave.Api;

/// <summary>
/// Reads and checks OpenAI request fields from a parsed JSON body, turning every mistake into a 400 that names
/// the field. Unknown fields are ignored, as OpenAI does.
/// </summary>
public readonly struct JsonRequest(JsonElement root)
{
    public JsonElement Root { get; } = root;

    public static async Task<JsonDocument> ParseBodyAsync(HttpRequest request, int maxDepth, CancellationToken cancellationToken)
    {
        if (request.ContentType is { } type && !type.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiErrorException(ApiError.BadRequest("The request body must be JSON (Content-Type: application/json)."));
        }

        try
        {
            var doc = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = maxDepth }, cancellationToken);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                throw new ApiErrorException(ApiError.BadRequest("The request body must be a JSON object."));
            }

            return doc;
        }
        catch (JsonException ex)
        {
            throw new ApiErrorException(ApiError.BadRequest($"The request body is not valid JSON: {ex.Message}"));
        }
        catch (BadHttpRequestException ex)
        {
            throw new ApiErrorException(new ApiError(ex.StatusCode, "invalid_request_error", ex.StatusCode == 413 ? "request_too_large" : null, ex.Message));
        }
    }

    public bool Has(string name) => Root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public string RequiredString(string name)
    {
        if (!Root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            throw Bad($"Missing required parameter: '{name}'.", name);
        }

        if (v.ValueKind != JsonValueKind.String)
        {
            throw Bad($"Invalid type for '{name}': expected a string.", name);
        }

        return v.GetString()!;
    }

    public bool Bool(string name, bool fallback)
    {
        if (!Root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }

        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad($"Invalid type for '{name}': expected a boolean.", name),
        };
    }

    public double? Number(string name, double min, double max)
    {
        if (!Root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || !double.IsFinite(d))
        {
            throw Bad($"Invalid type for '{name}': expected a number.", name);
        }

        if (d < min || d > max)
        {
            throw Bad($"Invalid value for '{name}': {d} is outside [{min}, {max}].", name);
        }

        return d;
    }

    public long? WholeNumber(string name, long min, long max)
    {
        if (!Root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var n))
        {
            throw Bad($"Invalid type for '{name}': expected an integer.", name);
        }

        if (n < min || n > max)
        {
            throw Bad($"Invalid value for '{name}': {n} is outside [{min}, {max}].", name);
        }

        return n;
    }

    /// <summary>Reads a field that is a string or an array of strings; null when absent.</summary>
    public List<string>? Strings(string name)
    {
        if (!Root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind == JsonValueKind.String)
        {
            return [v.GetString()!];
        }

        var list = new List<string>();
        if (v.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in v.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    list = null;
                    break;
                }

                list.Add(item.GetString()!);
            }
        }

        return list ?? throw Bad($"Invalid type for '{name}': expected a string or an array of strings.", name);
    }

    /// <summary>Reads <c>stop</c>: a string or an array of strings.</summary>
    public IReadOnlyList<string> Stop(int maxCount, int maxLength)
    {
        var list = Strings("stop") ?? [];
        if (list.Count > maxCount)
        {
            throw Bad($"Invalid value for 'stop': at most {maxCount} stop sequences are allowed.", "stop");
        }

        if (list.Any(s => s.Length == 0 || s.Length > maxLength))
        {
            throw Bad($"Invalid value for 'stop': each stop sequence must be 1 to {maxLength} characters.", "stop");
        }

        return list;
    }

    public static ApiErrorException Bad(string message, string? param) => new(ApiError.BadRequest(message, param));
}
