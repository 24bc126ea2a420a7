using System.Text;
using System.Text.Json;

namespace Enclave.Api;

/// <summary>
/// The gateway's upper bound on a request's tokens before the worker tokenizes it, for budget reservation:
/// llama.cpp's SentencePiece and BPE vocabularies (byte fallback) and WordPiece never produce more tokens than
/// UTF-8 bytes, so prompt bytes plus a few template tokens per message bound the prompt. The reservation is
/// settled to the real count afterwards.
/// </summary>
public static class TokenEstimate
{
    private const int PerMessageOverhead = 16;

    public static long PromptUpperBound(JsonElement root)
    {
        long bytes = 0;
        if (root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            foreach (var message in messages.EnumerateArray())
            {
                bytes += PerMessageOverhead;
                if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty("content", out var content))
                {
                    bytes += TextBytes(content);
                }
            }
        }

        foreach (var name in new[] { "prompt", "input" })
        {
            if (root.TryGetProperty(name, out var value))
            {
                bytes += TextBytes(value) + PerMessageOverhead;
            }
        }

        return Math.Max(1, bytes);
    }

    /// <summary>
    /// A guess at the prompt's tokens (about four UTF-8 bytes a token), for upstreams that report no usage. The
    /// ledger marks no difference; the README says which backends report usage.
    /// </summary>
    public static int PromptGuess(JsonElement root) => (int)Math.Min(int.MaxValue, (PromptUpperBound(root) + 3) / 4);

    /// <summary>The completion tokens asked for, or <paramref name="fallback"/> when the request leaves it open.</summary>
    public static long MaxCompletion(JsonElement root, long fallback)
    {
        foreach (var name in new[] { "max_completion_tokens", "max_tokens" })
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) && n > 0)
            {
                return Math.Min(n, fallback);
            }
        }

        return root.TryGetProperty("input", out _) ? 0 : fallback;
    }

    private static long TextBytes(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => Encoding.UTF8.GetByteCount(value.GetString()!),
        JsonValueKind.Array => value.EnumerateArray().Sum(TextBytes),
        JsonValueKind.Object => value.TryGetProperty("text", out var text) ? TextBytes(text) : 0,
        _ => 0,
    };
}
