using System.Text.Json;

namespace Enclave.Api;

/// <summary>
/// Reads and checks OpenAI request fields from a parsed JSON body, turning every mistake into a 400 that names
/// the field. Unknown fields are ignored, as OpenAI does.
/// </summary>
public readonly struct JsonRequest(JsonElement root)
{
    public JsonElement Root { get; } = root;

    /// <summary>Reads and parses a JSON object body strictly (see <see cref="RequestGuard.Inspect"/>); forwarding fields are allowed.</summary>
    public static Task<JsonDocument> ParseBodyAsync(HttpRequest request, int maxDepth, CancellationToken cancellationToken) =>
        ParseBodyAsync(request, maxDepth, rejectForwardingFields: false, cancellationToken);

    /// <summary>
    /// Reads and parses a JSON object body: malformed JSON, duplicate keys, too much depth and (when
    /// <paramref name="rejectForwardingFields"/>) backend-steering fields become 400s. The size limit is Kestrel's.
    /// </summary>
    public static async Task<JsonDocument> ParseBodyAsync(HttpRequest request, int maxDepth, bool rejectForwardingFields, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentType is { } type && !type.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            // 400 here, kept for callers that predate RequestGuard; the gateway's guard answers 415.
            throw new ApiErrorException(ApiError.BadRequest("The request body must be JSON (Content-Type: application/json).", null, "unsupported_media_type"));
        }

        var body = await RequestGuard.ReadBodyAsync(request, long.MaxValue, cancellationToken);
        RequestGuard.Inspect(body.Span, maxDepth, rejectForwardingFields);
        // Inspect has proven the body well-formed within the depth, so this parse cannot fail.
        return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = maxDepth });
    }

    public bool Has(string name) => Root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public string RequiredString(string name)
    {
        if (!Root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            throw Bad($"Missing required parameter: '{name}'.", name, "missing_required_parameter");
        }

        if (v.ValueKind != JsonValueKind.String)
        {
            throw Bad($"Invalid type for '{name}': expected a string.", name, "invalid_type");
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
            _ => throw Bad($"Invalid type for '{name}': expected a boolean.", name, "invalid_type"),
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
            throw Bad($"Invalid type for '{name}': expected a number.", name, "invalid_type");
        }

        if (d < min || d > max)
        {
            throw Bad(FormattableString.Invariant($"Invalid value for '{name}': {d} is outside [{min}, {max}]."), name, "invalid_value");
        }

        return d;
    }

    /// <summary>
    /// Reads an integer field. Not a number, or not an integer (1.5, 1e400) → <c>invalid_type</c>; an integer
    /// outside [<paramref name="min"/>, <paramref name="max"/>], including one beyond 64 bits →
    /// <c>integer_below_min_value</c> / <c>integer_above_max_value</c>.
    /// </summary>
    public long? WholeNumber(string name, long min, long max)
    {
        if (!Root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number)
        {
            throw Bad($"Invalid type for '{name}': expected an integer.", name, "invalid_type");
        }

        if (!v.TryGetInt64(out var n))
        {
            var raw = v.GetRawText();
            if (raw.AsSpan().IndexOfAny(".eE") >= 0)
            {
                throw Bad($"Invalid type for '{name}': expected an integer.", name, "invalid_type");
            }

            // An integer literal too large for 64 bits: out of range, not a type error, and never parsed further.
            n = raw.StartsWith('-') ? long.MinValue : long.MaxValue;
            if (n >= min && n <= max)
            {
                throw Bad(FormattableString.Invariant($"Invalid value for '{name}': expected an integer in [{min}, {max}]."), name, raw.StartsWith('-') ? "integer_below_min_value" : "integer_above_max_value");
            }
        }

        if (n < min)
        {
            throw Bad(FormattableString.Invariant($"Invalid value for '{name}': expected an integer of at least {min}."), name, "integer_below_min_value");
        }

        if (n > max)
        {
            throw Bad(FormattableString.Invariant($"Invalid value for '{name}': expected an integer of at most {max}."), name, "integer_above_max_value");
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

        return list ?? throw Bad($"Invalid type for '{name}': expected a string or an array of strings.", name, "invalid_type");
    }

    /// <summary>Reads <c>stop</c>: a string or an array of strings.</summary>
    public IReadOnlyList<string> Stop(int maxCount, int maxLength)
    {
        // Counted before the strings are read, so a million-entry array costs no million strings.
        if (Root.TryGetProperty("stop", out var raw) && raw.ValueKind == JsonValueKind.Array && raw.GetArrayLength() > maxCount)
        {
            throw Bad($"Invalid value for 'stop': at most {maxCount} stop sequences are allowed.", "stop", "array_above_max_length");
        }

        var list = Strings("stop") ?? [];
        if (list.Count > maxCount)
        {
            throw Bad($"Invalid value for 'stop': at most {maxCount} stop sequences are allowed.", "stop", "array_above_max_length");
        }

        if (list.Any(s => s.Length == 0 || s.Length > maxLength))
        {
            throw Bad($"Invalid value for 'stop': each stop sequence must be 1 to {maxLength} characters.", "stop", "invalid_value");
        }

        return list;
    }

    public static ApiErrorException Bad(string message, string? param, string? code = null) => new(ApiError.BadRequest(message, param, code));
}
