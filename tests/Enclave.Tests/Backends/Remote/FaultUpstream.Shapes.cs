using System.Text.Json;
using System.Text.Json.Nodes;

namespace Enclave.Tests.Backends.Remote;

/// <summary>OpenAI's response shapes as the wall writes them (chat.completion(.chunk), text_completion, embeddings).</summary>
public sealed partial class FaultUpstream
{
    /// <summary>The text of generated token <paramref name="index"/>; a whole answer is their concatenation.</summary>
    public static string TokenText(int index) => $"w{index} ";

    /// <summary>The content a healthy answer of <paramref name="tokens"/> tokens carries.</summary>
    public static string ContentOf(int tokens) => string.Concat(Enumerable.Range(0, tokens).Select(TokenText));

    /// <summary>Prompt tokens as the wall counts them: whitespace-separated words in the messages, prompt or input (at least 1).</summary>
    public static int PromptTokens(JsonElement request)
    {
        var words = 0;
        void Count(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.String:
                    words += e.GetString()!.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
                    break;
                case JsonValueKind.Array:
                    foreach (var item in e.EnumerateArray())
                    {
                        Count(item);
                    }

                    break;
                case JsonValueKind.Object:
                    if (e.TryGetProperty("content", out var content))
                    {
                        Count(content);
                    }
                    else if (e.TryGetProperty("text", out var text))
                    {
                        Count(text);
                    }

                    break;
            }
        }

        foreach (var field in (string[])["messages", "prompt", "input"])
        {
            if (request.TryGetProperty(field, out var value))
            {
                Count(value);
            }
        }

        return Math.Max(words, 1);
    }

    /// <summary><c>max_tokens</c> (or <c>max_completion_tokens</c>), else 5; at most 1000.</summary>
    public static int MaxTokens(JsonElement request) =>
        Math.Min(1000, request.TryGetProperty("max_tokens", out var m) && m.TryGetInt32(out var n) ? n
            : request.TryGetProperty("max_completion_tokens", out var c) && c.TryGetInt32(out var k) ? k : 5);

    private enum Shape
    {
        Chat,
        Text,
        Embeddings,
    }

    private sealed record Answer(Shape Shape, string Id, string Model, int PromptTokens, int Tokens, string FinishReason);

    private JsonObject Envelope(Answer answer, string type) => new()
    {
        ["id"] = answer.Id,
        ["object"] = type,
        ["created"] = Created,
        ["model"] = answer.Model,
        ["system_fingerprint"] = "fp_" + Name,
    };

    private static JsonObject Usage(Answer answer) => new()
    {
        ["prompt_tokens"] = answer.PromptTokens,
        ["completion_tokens"] = answer.Tokens,
        ["total_tokens"] = answer.PromptTokens + answer.Tokens,
    };

    private string Chunk(Answer answer, JsonObject delta, string? finishReason, bool includeUsage)
    {
        JsonObject choice = answer.Shape == Shape.Chat
            ? new() { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finishReason }
            : new() { ["text"] = delta.TryGetPropertyValue("content", out var text) ? text?.GetValue<string>() : "", ["index"] = 0, ["logprobs"] = null, ["finish_reason"] = finishReason };
        var chunk = Envelope(answer, answer.Shape == Shape.Chat ? "chat.completion.chunk" : "text_completion");
        chunk["choices"] = new JsonArray(choice);
        if (includeUsage)
        {
            // OpenAI sends "usage": null on every chunk but the last when usage was asked for.
            chunk["usage"] = null;
        }

        return chunk.ToJsonString();
    }

    private string UsageChunk(Answer answer)
    {
        var chunk = Envelope(answer, answer.Shape == Shape.Chat ? "chat.completion.chunk" : "text_completion");
        chunk["choices"] = new JsonArray();
        chunk["usage"] = Usage(answer);
        return chunk.ToJsonString();
    }

    private JsonObject Whole(Answer answer, bool omitUsage)
    {
        var content = ContentOf(answer.Tokens);
        JsonObject choice = answer.Shape == Shape.Chat
            ? new() { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content, ["refusal"] = null }, ["logprobs"] = null, ["finish_reason"] = answer.FinishReason }
            : new() { ["text"] = content, ["index"] = 0, ["logprobs"] = null, ["finish_reason"] = answer.FinishReason };
        var whole = Envelope(answer, answer.Shape == Shape.Chat ? "chat.completion" : "text_completion");
        whole["choices"] = new JsonArray(choice);
        if (!omitUsage)
        {
            whole["usage"] = Usage(answer);
        }

        return whole;
    }

    private static JsonObject Embeddings(JsonElement request, string model, int promptTokens)
    {
        var inputs = request.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.Array ? input.GetArrayLength() : 1;
        var data = new JsonArray();
        for (var i = 0; i < inputs; i++)
        {
            var vector = new JsonArray();
            for (var d = 0; d < 8; d++)
            {
                vector.Add((i + 1) * 0.125 + d * 0.01);
            }

            data.Add(new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = vector });
        }

        return new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["model"] = model,
            ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["total_tokens"] = promptTokens },
        };
    }
}
