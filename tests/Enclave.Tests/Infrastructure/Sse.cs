using System.Text.Json;

namespace Enclave.Tests.Infrastructure;

/// <summary>Reads a raw SSE response body into its <c>data:</c> payloads, checking the framing on the way.</summary>
public static class Sse
{
    public static async Task<List<string>> ReadEventsAsync(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        var events = new List<string>();
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream);
        string? line;
        while ((line = await reader.ReadLineAsync(cancellationToken)) is not null)
        {
            if (line.Length == 0)
            {
                continue;
            }

            Assert.StartsWith("data: ", line);
            events.Add(line["data: ".Length..]);
            Assert.Equal("", await reader.ReadLineAsync(cancellationToken));
        }

        return events;
    }

    public static string Content(IEnumerable<string> events, bool chat = true) => string.Concat(events
        .Where(e => e != "[DONE]")
        .Select(e => JsonDocument.Parse(e).RootElement)
        .Where(e => e.TryGetProperty("choices", out var c) && c.GetArrayLength() > 0)
        .Select(e => chat
            ? (e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : "")
            : e.GetProperty("choices")[0].GetProperty("text").GetString()));
}
