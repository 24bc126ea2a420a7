namespace Enclave.Bench;

/// <summary>
/// The prompts of a run, as text (for HTTP) and as the engine's tokens (for the raw path). /v1/completions
/// tokenizes its prompt the same way (<c>InferenceEngine.Tokenize</c>, BOS added), so both paths prefill the
/// same tokens; the HTTP runs check this against the usage chunk.
/// </summary>
internal sealed class Prompts
{
    /// <summary>The paragraph from shared/tools/README.md's speed table (126 tokens with the Llama-2 vocabulary).</summary>
    private const string Paragraph =
        "The gateway receives a chat completion request, checks the API key and the quota, picks a model slot, formats " +
        "the messages with the chat template stored in the model file, tokenizes the prompt, and then runs prefill in " +
        "batches before it starts streaming tokens back to the client as server-sent events. When the client disconnects, " +
        "the decode loop notices the cancelled request at the next step, frees the slot, and records how many tokens were " +
        "produced, how long the first token took, and how long each later token took, so that operators can compare the " +
        "models and the thread counts.";

    private const string ShortText = "The gateway receives a chat completion request and streams tokens back to the client.";

    private Prompts(Func<string, int[]> tokenize, string longText, int streams)
    {
        Long = new Prompt(longText, tokenize(longText));
        Short = new Prompt(ShortText, tokenize(ShortText));
        Streams = [.. Enumerable.Range(0, streams).Select(i =>
        {
            var text = $"Request {i.ToString(System.Globalization.CultureInfo.InvariantCulture)}. {ShortText}";
            return new Prompt(text, tokenize(text));
        })];
    }

    /// <summary>The prefill prompt: as many words of the paragraph (repeated) as fit in the requested token count.</summary>
    public Prompt Long { get; }

    /// <summary>The decode prompt: one short sentence, so the decode rate is measured at a small KV length.</summary>
    public Prompt Short { get; }

    /// <summary>Short prompts that differ per concurrent stream, so no stream can reuse another's work.</summary>
    public IReadOnlyList<Prompt> Streams { get; }

    public static Prompts Build(Func<string, int[]> tokenize, int longTokens, int streams)
    {
        var words = Paragraph.Split(' ');
        string Text(int count) => string.Join(' ', Enumerable.Range(0, count).Select(i => words[i % words.Length]));

        // Grow until the text is too long, then bisect for the longest prefix within the budget.
        var high = words.Length;
        for (var guard = 0; guard < 12 && tokenize(Text(high)).Length <= longTokens; guard++)
        {
            high *= 2;
        }

        var low = 1;
        while (low < high)
        {
            var mid = (low + high + 1) / 2;
            if (tokenize(Text(mid)).Length <= longTokens)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }

        return new Prompts(tokenize, Text(low), streams);
    }
}

internal sealed record Prompt(string Text, int[] Tokens);
