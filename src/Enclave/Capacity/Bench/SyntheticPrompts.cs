using System.Text;

namespace Enclave.Capacity.Bench;

/// <summary>
/// Makes prompts of chosen token lengths from random common English words (seeded, so a run is repeatable).
/// Each prompt starts differently, so a server's prefix cache cannot make a later request cheaper than a real one.
/// Thread-safe (stateless).
/// </summary>
public static class SyntheticPrompts
{
    private static readonly string[] Words =
    [
        "the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as", "with",
        "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but", "not", "what",
        "all", "were", "we", "when", "your", "can", "said", "there", "use", "an", "each", "which", "she", "do",
        "how", "their", "if", "will", "up", "other", "about", "out", "many", "then", "them", "these", "so", "some",
        "her", "would", "make", "like", "him", "into", "time", "has", "look", "two", "more", "write", "go", "see",
        "number", "no", "way", "could", "people", "my", "than", "first", "water", "been", "call", "who", "oil",
        "its", "now", "find", "long", "down", "day", "did", "get", "come", "made", "may", "part", "over", "new",
        "sound", "take", "only", "little", "work", "know", "place", "year", "live", "me", "back", "give", "most",
        "very", "after", "thing", "our", "just", "name", "good", "sentence", "man", "think", "say", "great",
        "where", "help", "through", "much", "before", "line", "right", "too", "mean", "old", "any", "same", "tell",
        "boy", "follow", "came", "want", "show", "also", "around", "form", "three", "small", "set", "put", "end",
        "does", "another", "well", "large", "must", "big", "even", "such", "because", "turn", "here", "why", "ask",
        "went", "men", "read", "need", "land", "different", "home", "us", "move", "try", "kind", "hand", "picture",
        "again", "change", "off", "play", "spell", "air", "away", "animal", "house", "point", "page", "letter",
        "mother", "answer", "found", "study", "still", "learn", "should", "world", "high", "every", "near", "add",
        "food", "between", "own", "below", "country", "plant", "last", "school", "father", "keep", "tree", "never",
        "start", "city", "earth", "eye", "light", "thought", "head", "under", "story", "saw", "left", "few", "while",
    ];

    /// <summary><paramref name="count"/> prompts with input and output lengths drawn from the distributions.</summary>
    public static IReadOnlyList<BenchPrompt> Create(int count, TokenDistribution input, TokenDistribution output, TokenCalibration calibration, int seed)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        var random = new Random(seed);
        var shapes = new List<(int Input, int Output)>(count);
        for (var i = 0; i < count; i++)
        {
            shapes.Add((input.Sample(random), output.Sample(random)));
        }

        return FromShapes(shapes, calibration, seed);
    }

    /// <summary>One prompt per (input tokens, output tokens) pair, for example the ledger's recorded requests.</summary>
    public static IReadOnlyList<BenchPrompt> FromShapes(IReadOnlyList<(int Input, int Output)> shapes, TokenCalibration calibration, int seed)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        ArgumentNullException.ThrowIfNull(calibration);
        var random = new Random(unchecked(seed * 31) + 7);
        return shapes.Select(s => new BenchPrompt
        {
            Text = Text(calibration.WordsFor(s.Input), random),
            MaxTokens = Math.Max(1, s.Output),
            InputTokens = s.Input,
        }).ToList();
    }

    /// <summary><paramref name="words"/> random words separated by spaces.</summary>
    public static string Text(int words, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var text = new StringBuilder(words * 6);
        for (var i = 0; i < words; i++)
        {
            if (i > 0)
            {
                text.Append(' ');
            }

            text.Append(Words[random.Next(Words.Length)]);
        }

        return text.ToString();
    }
}
