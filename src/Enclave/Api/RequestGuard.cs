using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Net.Http.Headers;

namespace Enclave.Api;

/// <summary>
/// The gateway's first look at an inference request, before anything is forwarded: the media type, the size,
/// strict JSON (one <see cref="Utf8JsonReader"/> pass with bounded depth: well-formed UTF-8, no unpaired
/// surrogate escapes, no duplicate keys, nothing after the object), no field that could redirect a backend at
/// any depth, and a sane <c>model</c>. Every refusal is an <see cref="ApiErrorException"/> carrying the OpenAI
/// envelope. Stateless and thread-safe; the body bytes are never mutated.
/// </summary>
public static class RequestGuard
{
    /// <summary>
    /// Fields a client must never send, at any depth, in any case and with or without <c>_</c>/<c>-</c>: they would
    /// steer a proxying backend to another host, key or backend. Clients choose a model; the gateway's
    /// configuration decides where it runs. JSON-schema subtrees (tool parameters, <c>response_format.json_schema</c>)
    /// describe output, not routes, and are not checked; a content part's <c>image_url.url</c> is data.
    /// </summary>
    public static IReadOnlyList<string> ForwardingFields { get; } =
        ["api_base", "base_url", "api_url", "server_url", "api_key", "extra_headers", "backend", "upstream", "upstream_url", "host", "endpoint", "url"];

    private static readonly HashSet<string> NormalizedForwardingFields = new(ForwardingFields.Select(Normalize), StringComparer.Ordinal);

    private const int MaxEchoLength = 128;

    /// <summary>
    /// Reads the whole body (at most <see cref="ApiLimits.MaxBodyBytes"/>), checks it, re-seats
    /// <see cref="HttpRequest.Body"/> on the bytes read (seekable, at position 0) so the caller can forward them,
    /// and returns the validated model name with the parsed document (parsed only after the strict pass).
    /// </summary>
    public static async Task<GuardedRequest> ReadAsync(HttpRequest request, ApiLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(limits);
        RequireJsonContentType(request);
        var body = await ReadBodyAsync(request, limits.MaxBodyBytes, cancellationToken);
        var model = CheckModel(Inspect(body.Span, limits.MaxJsonDepth, rejectForwardingFields: true), limits.MaxModelNameLength);
        return new GuardedRequest(model, JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = limits.MaxJsonDepth }));
    }

    /// <summary>415 unless the Content-Type is <c>application/json</c> (charset, when given, must be UTF-8).</summary>
    public static void RequireJsonContentType(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (type.Charset.HasValue && !type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            throw new ApiErrorException(new ApiError(StatusCodes.Status415UnsupportedMediaType, "invalid_request_error", "unsupported_media_type",
                "The request body must be JSON sent with 'Content-Type: application/json'."));
        }
    }

    /// <summary>
    /// Reads the body into memory, refusing more than <paramref name="maxBytes"/> with 413, and replaces
    /// <see cref="HttpRequest.Body"/> with a read-only stream over the bytes.
    /// </summary>
    public static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var cap = (int)Math.Min(maxBytes, Array.MaxLength);
        if (request.ContentLength is { } declared && declared > cap)
        {
            throw TooLarge(cap);
        }

        // Sized from Content-Length when it is given, so a body costs its own size once; chunked bodies grow by doubling.
        var buffer = new byte[request.ContentLength is { } n ? (int)n : Math.Min(cap, 16 * 1024)];
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length >= cap)
                    {
                        var probe = new byte[1];
                        if (await request.Body.ReadAsync(probe, cancellationToken) == 0)
                        {
                            break;
                        }

                        throw TooLarge(cap);
                    }

                    Array.Resize(ref buffer, (int)Math.Min(Math.Max(buffer.Length * 2L, 4096), cap));
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's own limits (body size, minimum data rate); its messages name no path or secret.
            throw new ApiErrorException(new ApiError(ex.StatusCode, "invalid_request_error", ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? "request_too_large" : null, ex.Message));
        }

        request.Body = new MemoryStream(buffer, 0, length, writable: false, publiclyVisible: true);
        return buffer.AsMemory(0, length);
    }

    /// <summary>
    /// One strict pass over a JSON body. Throws 400 <c>invalid_json</c> (malformed, empty, BOM, trailing data,
    /// invalid UTF-8, unpaired surrogate escape, deeper than <paramref name="maxDepth"/>), <c>duplicate_key</c>,
    /// <c>unknown_parameter</c> (a forwarding field, when <paramref name="rejectForwardingFields"/>) or
    /// <c>invalid_type</c> (not an object). Returns what it saw of the top-level <c>model</c>.
    /// </summary>
    public static ModelField Inspect(ReadOnlySpan<byte> json, int maxDepth, bool rejectForwardingFields)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = maxDepth, CommentHandling = JsonCommentHandling.Disallow });
        var frames = new List<Frame>();
        var model = new ModelField(JsonTokenType.None, null);
        JsonTokenType root;
        try
        {
            if (!reader.Read())
            {
                throw InvalidJson("The request body is empty; send a JSON object.");
            }

            root = reader.TokenType;
            do
            {
                var token = reader.TokenType;
                if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    frames.RemoveAt(frames.Count - 1);
                    continue;
                }

                if (token == JsonTokenType.PropertyName)
                {
                    var name = ReadString(ref reader);
                    var frame = frames[^1];
                    if (!frame.Names!.Add(name))
                    {
                        throw new ApiErrorException(ApiError.BadRequest($"The key '{Printable(name)}' appears twice in one object; send each key once.", Truncate(PathOf(frames, name)), "duplicate_key"));
                    }

                    if (rejectForwardingFields && !frame.Exempt && IsForwardingField(name) && !IsMediaUrl(frames, name))
                    {
                        var path = Truncate(PathOf(frames, name));
                        throw new ApiErrorException(ApiError.BadRequest($"Unrecognized request argument supplied: '{path}'. Backend addresses, keys and headers cannot be set by a request.", path, "unknown_parameter"));
                    }

                    frame.Property = name;
                    continue;
                }

                if (frames.Count > 0 && frames[^1].Names is null)
                {
                    frames[^1].Index++;
                }

                var isModel = frames.Count == 1 && frames[0].Names is not null && frames[0].Property == "model";
                switch (token)
                {
                    case JsonTokenType.StartObject:
                        frames.Add(new Frame { Names = new HashSet<string>(StringComparer.Ordinal), Exempt = EntersSchema(frames) });
                        break;
                    case JsonTokenType.StartArray:
                        frames.Add(new Frame { Exempt = EntersSchema(frames) });
                        break;
                    case JsonTokenType.String:
                        var value = reader.ValueIsEscaped || isModel ? ReadString(ref reader) : CheckUtf8(ref reader);
                        if (isModel)
                        {
                            model = new ModelField(token, value);
                        }

                        break;
                }

                if (isModel && token != JsonTokenType.String)
                {
                    model = new ModelField(token, null);
                }
            }
            while (reader.Read());
        }
        catch (JsonException ex)
        {
            throw InvalidJson($"The request body is not valid JSON (a request may nest at most {maxDepth} levels): {ex.Message}");
        }

        if (root != JsonTokenType.StartObject)
        {
            throw new ApiErrorException(ApiError.BadRequest("The request body must be a JSON object.", null, "invalid_type"));
        }

        return model;
    }

    /// <summary>Checks the top-level <c>model</c> seen by <see cref="Inspect"/> and returns it.</summary>
    public static string CheckModel(ModelField model, int maxLength)
    {
        if (model.Token == JsonTokenType.None)
        {
            throw new ApiErrorException(ApiError.BadRequest("Missing required parameter: 'model'.", "model", "missing_required_parameter"));
        }

        if (model.Token != JsonTokenType.String)
        {
            throw new ApiErrorException(ApiError.BadRequest("Invalid type for 'model': expected a string.", "model", "invalid_type"));
        }

        var name = model.Value!;
        if (name.Length == 0 || name.Length > maxLength || name.Any(IsUnsafeChar))
        {
            throw new ApiErrorException(ApiError.BadRequest(
                $"Invalid value for 'model': '{Printable(name)}'. A model name is 1 to {maxLength} characters without control or formatting characters.", "model", "invalid_value"));
        }

        return name;
    }

    /// <summary>A client-supplied string made safe to echo: control and formatting characters escaped, at most 128 characters.</summary>
    public static string Printable(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = new StringBuilder(Math.Min(value.Length, MaxEchoLength) + 8);
        foreach (var ch in value)
        {
            if (text.Length >= MaxEchoLength)
            {
                text.Append('…');
                break;
            }

            if (IsUnsafeChar(ch))
            {
                text.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                text.Append(ch);
            }
        }

        return text.ToString();
    }

    private static bool IsUnsafeChar(char ch) =>
        char.IsControl(ch) || char.IsSurrogate(ch) || CharUnicodeInfo.GetUnicodeCategory(ch) is UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    private static bool IsForwardingField(string name) => name.Length <= 64 && NormalizedForwardingFields.Contains(Normalize(name));

    private static string Normalize(string name) => new([.. name.Where(c => c is not ('_' or '-')).Select(char.ToLowerInvariant)]);

    // A new container is exempt inside one, or when it is a tool's parameters schema or response_format.json_schema.
    private static bool EntersSchema(List<Frame> frames)
    {
        if (frames.Count == 0)
        {
            return false;
        }

        var parent = frames[^1];
        if (parent.Exempt)
        {
            return true;
        }

        if (parent.Names is null)
        {
            return false;
        }

        return parent.Property switch
        {
            "parameters" => (frames.Count >= 2 && frames[^2].Names is not null && frames[^2].Property == "function")
                || (frames.Count >= 3 && frames[^2].Names is null && frames[^3].Property == "functions"),
            "json_schema" => frames.Count == 2 && frames[0].Property == "response_format",
            _ => false,
        };
    }

    // OpenAI's media parts carry their data address as "url": {"type":"image_url","image_url":{"url":...}}.
    private static bool IsMediaUrl(List<Frame> frames, string name) =>
        name == "url" && frames.Count >= 2 && frames[^2].Names is not null && frames[^2].Property is "image_url" or "video_url" or "audio_url" or "input_image";

    private static string ReadString(ref Utf8JsonReader reader)
    {
        try
        {
            // GetString transcodes strictly: invalid UTF-8 and unpaired surrogate escapes throw.
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw InvalidJson("The request body is not valid JSON: a string holds invalid UTF-8 or an unpaired surrogate escape.");
        }
    }

    private static string? CheckUtf8(ref Utf8JsonReader reader)
    {
        // Unescaped strings are checked in place, so a large string costs no copy.
        if (reader.HasValueSequence || !Utf8.IsValid(reader.ValueSpan))
        {
            _ = ReadString(ref reader);
        }

        return null;
    }

    private static string PathOf(List<Frame> frames, string last)
    {
        var path = new StringBuilder();
        for (var i = 0; i < frames.Count - 1; i++)
        {
            if (frames[i].Names is null)
            {
                path.Append('[').Append(frames[i].Index.ToString(CultureInfo.InvariantCulture)).Append(']');
            }
            else
            {
                path.Append(path.Length > 0 ? "." : "").Append(frames[i].Property);
            }
        }

        return path.Append(path.Length > 0 ? "." : "").Append(last).ToString();
    }

    private static string Truncate(string path) => Printable(path);

    private static ApiErrorException InvalidJson(string message) => new(ApiError.BadRequest(message, null, "invalid_json"));

    private static ApiErrorException TooLarge(long cap) =>
        new(new ApiError(StatusCodes.Status413PayloadTooLarge, "invalid_request_error", "request_too_large", $"The request body is larger than the {cap} bytes allowed."));

    private sealed class Frame
    {
        public HashSet<string>? Names { get; init; }

        /// <summary>Inside a JSON-schema subtree, where forwarding-field names are ordinary schema words.</summary>
        public bool Exempt { get; init; }

        public string? Property { get; set; }

        public int Index { get; set; } = -1;
    }
}

/// <summary>What <see cref="RequestGuard.Inspect"/> saw of the top-level <c>model</c>: its token (None when absent) and its text.</summary>
public readonly record struct ModelField(JsonTokenType Token, string? Value);
