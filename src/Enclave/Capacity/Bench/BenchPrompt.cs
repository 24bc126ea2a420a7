namespace Enclave.Capacity.Bench;

/// <summary>One message of a chat prompt. Immutable.</summary>
public sealed record ChatTurn(string Role, string Content);

/// <summary>
/// One request the load generator sends: either chat <see cref="Messages"/> or a raw <see cref="Text"/> (the other
/// form is derived when the endpoint needs it), and how many tokens to ask for. Immutable; shared by all levels of a
/// run so that every load level sends the same prompts.
/// </summary>
public sealed record BenchPrompt
{
    /// <summary>The chat messages; null for a raw text prompt.</summary>
    public IReadOnlyList<ChatTurn>? Messages { get; init; }

    /// <summary>The raw prompt; null for a chat prompt.</summary>
    public string? Text { get; init; }

    /// <summary><c>max_tokens</c> for the request: the output length this prompt should produce.</summary>
    public required int MaxTokens { get; init; }

    /// <summary>The prompt length in tokens when the source knows it (synthetic and ledger prompts); else null.</summary>
    public int? InputTokens { get; init; }

    /// <summary>The prompt as chat messages: a raw text becomes one user message.</summary>
    public IReadOnlyList<ChatTurn> AsMessages() => Messages ?? [new ChatTurn("user", Text ?? "")];

    /// <summary>The prompt as raw text: chat messages are joined as <c>role: content</c> lines.</summary>
    public string AsText() => Text ?? string.Join("\n", (Messages ?? []).Select(m => $"{m.Role}: {m.Content}"));

    /// <summary>Characters of prompt text, for size estimates when the server reports no usage.</summary>
    public int CharacterCount => Text?.Length ?? (Messages ?? []).Sum(m => m.Content.Length);
}
