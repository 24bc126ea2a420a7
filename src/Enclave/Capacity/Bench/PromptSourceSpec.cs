namespace Enclave.Capacity.Bench;

/// <summary>
/// Where a run's prompts come from: a dataset file, the usage ledger's recorded shapes, or synthetic prompts with
/// the given length distributions (the default). <see cref="OutputTokens"/> fixes or draws the output length for
/// every source. Immutable.
/// </summary>
public sealed record PromptSourceSpec
{
    public string? DatasetPath { get; init; }

    public TokenDistribution? InputTokens { get; init; }

    public TokenDistribution? OutputTokens { get; init; }

    /// <summary>The data directory whose ledger to read; null when the ledger is not the source.</summary>
    public string? LedgerDataDir { get; init; }

    public DateTimeOffset? LedgerSince { get; init; }

    /// <summary>Only the ledger's requests for this model; null for all models.</summary>
    public string? LedgerModel { get; init; }

    /// <summary>Input length of synthetic prompts when none is given.</summary>
    public static TokenDistribution DefaultInput { get; } = TokenDistribution.Fixed(256);

    /// <summary>Output length when neither the options nor the dataset line give one.</summary>
    public const int DefaultOutputTokens = 128;
}
