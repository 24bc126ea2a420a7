using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Enclave.Tests.Ollama;

/// <summary>Raw-HTTP helpers for the Ollama tests: bodies, NDJSON framing, the usage ledger.</summary>
internal static class OllamaTestSupport
{
    public static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    public static StringContent RawJson(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>
    /// Reads an NDJSON body and checks its framing: every line is one JSON object, no line is blank, and the body
    /// ends with a newline.
    /// </summary>
    public static async Task<List<JsonElement>> ReadNdjsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = text[..^1].Split('\n');
        return [.. lines.Select(line =>
        {
            Assert.False(string.IsNullOrWhiteSpace(line), "an NDJSON body has a blank line");
            var element = JsonDocument.Parse(line).RootElement;
            Assert.Equal(JsonValueKind.Object, element.ValueKind);
            return element.Clone();
        })];
    }

    public static string RequestId(HttpResponseMessage response) => response.Headers.GetValues("x-request-id").Single();

    /// <summary>The usage records with this request id (a request must have exactly one).</summary>
    public static async Task<List<LedgerRow>> LedgerRowsAsync(string dataDir, string requestId)
    {
        var rows = new List<LedgerRow>();
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "enclave.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT route, model, status, prompt_tokens, completion_tokens, error_code, stream, finish_reason, backend FROM usage_ledger WHERE request_id = $id";
        command.Parameters.AddWithValue("$id", requestId);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new LedgerRow(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4),
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetInt64(6) != 0, reader.IsDBNull(7) ? null : reader.GetString(7), reader.GetString(8)));
        }

        return rows;
    }

    /// <summary>Polls until <paramref name="condition"/> holds, failing after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < timeout, "condition not met in time");
            await Task.Delay(10);
        }
    }

    /// <summary>The text and token counts the OpenAI surface gives for a greedy chat request.</summary>
    public static async Task<(string Text, int Prompt, int Completion)> OpenAiChatAsync(HttpClient http, string model, string user, int maxTokens)
    {
        // Ollama's defaults, which the Ollama surface applies when a client leaves them out.
        using var response = await http.PostAsync("/v1/chat/completions", Json(new
        {
            model,
            messages = new[] { new { role = "user", content = user } },
            max_tokens = maxTokens,
            temperature = 0,
            top_p = 0.9,
            top_k = 40,
            repeat_penalty = 1.1,
        }));
        response.EnsureSuccessStatusCode();
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var usage = root.GetProperty("usage");
        return (root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!,
            usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32());
    }
}

internal sealed record LedgerRow(string Route, string Model, int Status, int PromptTokens, int CompletionTokens, string? ErrorCode, bool Stream, string? FinishReason, string Backend);
