using System.Text;
using System.Text.Json;

namespace Enclave.Capacity.Bench;

/// <summary>
/// Reads prompts from a dataset file. Two layouts: JSON lines (one object per line) or one JSON array of objects.
/// Each object is one of
/// <list type="bullet">
/// <item><c>{"prompt": "text"}</c>: a raw prompt;</item>
/// <item><c>{"messages": [{"role": "user", "content": "..."}]}</c>: a chat prompt (content may be text parts);</item>
/// <item><c>{"conversations": [{"from": "human", "value": "..."}, {"from": "gpt", "value": "..."}]}</c>: a
/// ShareGPT conversation; the turns up to the first human turn are the prompt, and the length of the reply that
/// follows sets the output length (about 4 characters per token) unless the run fixes it.</item>
/// </list>
/// Any object may set <c>max_tokens</c> (or <c>output_tokens</c>). Blank lines are skipped; a conversation with no
/// human turn followed by a reply is skipped and counted. Anything else stops the read with a
/// <see cref="CapacityUsageException"/> naming the file and line. Thread-safe (stateless).
/// </summary>
public static class DatasetReader
{
    /// <summary>Characters per token used to turn a ShareGPT reply's length into an output length.</summary>
    public const double CharactersPerToken = 4.0;

    private const int MaxOutputEstimate = 16_384;

    /// <param name="path">The dataset file.</param>
    /// <param name="outputTokens">A fixed output length for every prompt; null keeps each line's own.</param>
    /// <param name="defaultOutputTokens">The output length of a line that sets none.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    public static async Task<DatasetContents> ReadAsync(string path, int? outputTokens, int defaultOutputTokens, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new CapacityUsageException($"--dataset '{path}' does not exist.");
        }

        var name = Path.GetFileName(path);
        await using var stream = File.OpenRead(path);
        var first = FirstSignificantByte(stream);
        stream.Position = 0;
        var prompts = new List<BenchPrompt>();
        var skipped = 0;
        if (first == '[')
        {
            var index = 0;
            try
            {
                await foreach (var element in JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(stream, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    index++;
                    Add(element, $"{name} element {index}");
                }
            }
            catch (JsonException ex)
            {
                throw new CapacityUsageException($"{name} line {(ex.LineNumber ?? 0) + 1}: not valid JSON ({FirstSentence(ex.Message)}).");
            }

            return Done("json-array");
        }

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var line = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(text);
            }
            catch (JsonException ex)
            {
                throw new CapacityUsageException($"{name} line {line}: not valid JSON ({FirstSentence(ex.Message)}).");
            }

            using (document)
            {
                Add(document.RootElement, $"{name} line {line}");
            }
        }

        return Done("jsonl");

        DatasetContents Done(string format) => prompts.Count == 0
            ? throw new CapacityUsageException($"--dataset '{path}' holds no usable prompt{(skipped > 0 ? $" ({skipped} conversations without a human turn and a reply were skipped)" : "")}.")
            : new DatasetContents(prompts, skipped, format);

        void Add(JsonElement element, string where)
        {
            var prompt = Parse(element, where, outputTokens, defaultOutputTokens);
            if (prompt is null)
            {
                skipped++;
            }
            else
            {
                prompts.Add(prompt);
            }
        }
    }

    private static BenchPrompt? Parse(JsonElement element, string where, int? outputTokens, int defaultOutputTokens)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new CapacityUsageException($"{where}: expected an object with \"prompt\", \"messages\" or \"conversations\", found {Describe(element.ValueKind)}.");
        }

        var own = OwnMaxTokens(element, where);
        if (element.TryGetProperty("prompt", out var prompt))
        {
            return prompt.ValueKind == JsonValueKind.String
                ? new BenchPrompt { Text = prompt.GetString()!, MaxTokens = outputTokens ?? own ?? defaultOutputTokens }
                : throw new CapacityUsageException($"{where}: \"prompt\" must be a string, found {Describe(prompt.ValueKind)}.");
        }

        if (element.TryGetProperty("messages", out var messages))
        {
            return new BenchPrompt { Messages = Messages(messages, where), MaxTokens = outputTokens ?? own ?? defaultOutputTokens };
        }

        if (element.TryGetProperty("conversations", out var conversation) || element.TryGetProperty("conversation", out conversation))
        {
            return Conversation(conversation, where, outputTokens ?? own, defaultOutputTokens);
        }

        throw new CapacityUsageException($"{where}: no \"prompt\", \"messages\" or \"conversations\" field.");
    }

    private static List<ChatTurn> Messages(JsonElement messages, string where)
    {
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            throw new CapacityUsageException($"{where}: \"messages\" must be a non-empty array.");
        }

        var turns = new List<ChatTurn>();
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            i++;
            if (message.ValueKind != JsonValueKind.Object
                || !message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                || !message.TryGetProperty("content", out var content))
            {
                throw new CapacityUsageException($"{where}: message {i} needs a string \"role\" and a \"content\".");
            }

            turns.Add(new ChatTurn(role.GetString()!, Content(content, where, i)));
        }

        return turns;
    }

    private static string Content(JsonElement content, string where, int index)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString()!;
            case JsonValueKind.Array:
                var text = new StringBuilder();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                    {
                        text.Append(t.GetString());
                    }
                }

                return text.ToString();
            default:
                throw new CapacityUsageException($"{where}: message {index} \"content\" must be a string or an array of text parts.");
        }
    }

    private static BenchPrompt? Conversation(JsonElement conversation, string where, int? outputTokens, int defaultOutputTokens)
    {
        if (conversation.ValueKind != JsonValueKind.Array)
        {
            throw new CapacityUsageException($"{where}: \"conversations\" must be an array of {{\"from\", \"value\"}} turns.");
        }

        var turns = new List<ChatTurn>();
        foreach (var turn in conversation.EnumerateArray())
        {
            if (turn.ValueKind != JsonValueKind.Object
                || !turn.TryGetProperty("from", out var from) || from.ValueKind != JsonValueKind.String
                || !turn.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.String)
            {
                throw new CapacityUsageException($"{where}: each conversation turn needs string \"from\" and \"value\" fields.");
            }

            var role = from.GetString()!.ToLowerInvariant() switch
            {
                "human" or "user" => "user",
                "system" => "system",
                _ => "assistant",
            };
            if (role == "assistant" && turns.Count > 0 && turns[^1].Role == "user")
            {
                var estimate = (int)Math.Clamp(Math.Round(value.GetString()!.Length / CharactersPerToken), 1, MaxOutputEstimate);
                return new BenchPrompt { Messages = turns, MaxTokens = outputTokens ?? estimate };
            }

            turns.Add(new ChatTurn(role, value.GetString()!));
        }

        // A trailing human turn with no reply still makes a prompt, with the default output length.
        return turns.Count > 0 && turns[^1].Role == "user" ? new BenchPrompt { Messages = turns, MaxTokens = outputTokens ?? defaultOutputTokens } : null;
    }

    private static int? OwnMaxTokens(JsonElement element, string where)
    {
        foreach (var name in new[] { "max_tokens", "output_tokens", "max_completion_tokens" })
        {
            if (element.TryGetProperty(name, out var value))
            {
                return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n is >= 1 and <= TokenDistribution.MaxTokens
                    ? n
                    : throw new CapacityUsageException($"{where}: \"{name}\" must be a whole number from 1 to {TokenDistribution.MaxTokens}.");
            }
        }

        return null;
    }

    private static int FirstSignificantByte(Stream stream)
    {
        int b;
        while ((b = stream.ReadByte()) is ' ' or '\t' or '\r' or '\n' or 0xEF or 0xBB or 0xBF)
        {
        }

        return b;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "an object",
    };

    private static string FirstSentence(string message)
    {
        var dot = message.IndexOf(". ", StringComparison.Ordinal);
        return (dot > 0 ? message[..dot] : message).TrimEnd('.');
    }
}

/// <summary>What <see cref="DatasetReader"/> found. Immutable.</summary>
public sealed record DatasetContents(IReadOnlyList<BenchPrompt> Prompts, int Skipped, string Format);
