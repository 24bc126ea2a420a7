using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Enclave.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Enclave.Tests.Backends.Remote;

/// <summary>One SSE data payload and when the test received it (<see cref="Stopwatch"/> ticks).</summary>
public sealed record TimedEvent(long At, string Data)
{
    public bool IsDone => Data == "[DONE]";

    /// <summary>The <c>error</c> object of an in-band error event, if this is one.</summary>
    public JsonElement? Error => !IsDone && JsonDocument.Parse(Data).RootElement.TryGetProperty("error", out var e) ? e.Clone() : null;
}

/// <summary>A usage-ledger record as stored (one per client request).</summary>
public sealed record LedgerRow(string RequestId, string Model, string Backend, int Status, int PromptTokens, int CompletionTokens, string? ErrorCode, bool Stream);

/// <summary>Requests to a test gateway and checks of what comes back: the error envelope, SSE framing, the ledger. Stateless.</summary>
internal static class RemoteApi
{
    public const string ChatPath = "/v1/chat/completions";

    /// <summary>A chat request body; <paramref name="extra"/> adds or replaces fields.</summary>
    public static string Chat(string model, bool stream = false, int? maxTokens = 5, Action<JsonObject>? extra = null)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Tell me a short story" }),
        };
        if (maxTokens is { } max)
        {
            body["max_tokens"] = max;
        }

        if (stream)
        {
            body["stream"] = true;
        }

        extra?.Invoke(body);
        return body.ToJsonString();
    }

    public static async Task<HttpResponseMessage> PostAsync(GatewayProcess gateway, string json, CancellationToken ct, string path = ChatPath, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        configure?.Invoke(request);
        return await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
    }

    /// <summary>Posts and reads the whole answer: status, body and the request id.</summary>
    public static async Task<(int Status, string Body, string RequestId, HttpResponseMessage Response)> SendAsync(GatewayProcess gateway, string json, CancellationToken ct, string path = ChatPath, Action<HttpRequestMessage>? configure = null)
    {
        var response = await PostAsync(gateway, json, ct, path, configure);
        var body = await response.Content.ReadAsStringAsync(ct);
        return ((int)response.StatusCode, body, RequestId(response), response);
    }

    public static string RequestId(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-request-id", out var values) ? values.Single() : throw new Xunit.Sdk.XunitException("The response has no x-request-id header.");

    /// <summary>Reads an SSE body to its end, checking OpenAI's framing (<c>data: ...</c> then a blank line), with arrival times.</summary>
    public static async Task<List<TimedEvent>> ReadEventsAsync(HttpResponseMessage response, CancellationToken ct)
    {
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<TimedEvent>();
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(stream);
        string? line;
        while ((line = await reader.ReadLineAsync(ct)) is not null)
        {
            if (line.Length == 0 || line.StartsWith(':'))
            {
                continue;
            }

            Assert.StartsWith("data: ", line);
            events.Add(new TimedEvent(Stopwatch.GetTimestamp(), line["data: ".Length..]));
            Assert.Equal("", await reader.ReadLineAsync(ct));
        }

        return events;
    }

    /// <summary>Asserts OpenAI's error envelope (all four fields present) and returns its <c>error</c> object.</summary>
    public static JsonElement Envelope(string body)
    {
        JsonElement error;
        try
        {
            error = JsonDocument.Parse(body).RootElement.GetProperty("error").Clone();
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new Xunit.Sdk.XunitException($"Not an OpenAI error envelope: {Trim(body)}");
        }

        foreach (var field in (string[])["message", "type", "param", "code"])
        {
            Assert.True(error.TryGetProperty(field, out _), $"error envelope lacks '{field}': {Trim(body)}");
        }

        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), "error envelope has no message");
        return error;
    }

    public static string? Code(JsonElement error) => error.GetProperty("code").ValueKind == JsonValueKind.String ? error.GetProperty("code").GetString() : null;

    /// <summary>Content text of chat or completion chunks (error events and <c>[DONE]</c> skipped).</summary>
    public static string Content(IEnumerable<TimedEvent> events) => string.Concat(ContentChunks(events).Select(c => c.Text));

    /// <summary>Chunks that carry non-empty generated text.</summary>
    public static IEnumerable<(TimedEvent Event, string Text)> ContentChunks(IEnumerable<TimedEvent> events)
    {
        foreach (var e in events.Where(e => !e.IsDone && e.Error is null))
        {
            var root = JsonDocument.Parse(e.Data).RootElement;
            if (root.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0)
            {
                var choice = choices[0];
                var text = choice.TryGetProperty("delta", out var delta) ? (delta.TryGetProperty("content", out var c) ? c.GetString() : null)
                    : choice.TryGetProperty("text", out var t) ? t.GetString() : null;
                if (!string.IsNullOrEmpty(text))
                {
                    yield return (e, text);
                }
            }
        }
    }

    /// <summary>The usage-only chunk (<c>"choices":[]</c> with usage), if the stream carried one.</summary>
    public static JsonElement? UsageChunk(IEnumerable<TimedEvent> events) => events
        .Where(e => !e.IsDone && e.Error is null)
        .Select(e => JsonDocument.Parse(e.Data).RootElement)
        .Where(r => r.TryGetProperty("choices", out var c) && c.GetArrayLength() == 0 && r.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
        .Select(r => (JsonElement?)r.Clone())
        .FirstOrDefault();

    public static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    public static string Trim(string text) => text.Length <= 600 ? text : text[..600] + $"... ({text.Length} chars)";

    /// <summary>The ledger record of one request (the ledger commits before the response's last byte).</summary>
    public static async Task<LedgerRow> LedgerAsync(GatewayProcess gateway, string requestId)
    {
        var rows = await LedgerRowsAsync(gateway.DataDir);
        return rows.SingleOrDefault(r => r.RequestId == requestId)
            ?? throw new Xunit.Sdk.XunitException($"No ledger record for request {requestId}; records: {string.Join("; ", rows)}");
    }

    public static async Task<List<LedgerRow>> LedgerRowsAsync(string dataDir)
    {
        var rows = new List<LedgerRow>();
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "enclave.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT request_id, model, backend, status, prompt_tokens, completion_tokens, error_code, stream FROM usage_ledger ORDER BY id";
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new LedgerRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4), reader.GetInt32(5),
                reader.IsDBNull(6) ? null : reader.GetString(6), reader.GetInt64(7) != 0));
        }

        return rows;
    }

    /// <summary><c>GET /admin/usage?by=backend</c> as group → row.</summary>
    public static async Task<Dictionary<string, JsonElement>> UsageByBackendAsync(GatewayProcess gateway, CancellationToken ct)
    {
        var report = JsonDocument.Parse(await gateway.Http.GetStringAsync("/admin/usage?by=backend", ct)).RootElement;
        Assert.Equal("backend", report.GetProperty("by").GetString());
        return report.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("group").GetString()!, r => r.Clone());
    }
}
