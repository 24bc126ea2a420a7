namespace Enclave.Engine;

/// <summary>A tokenized prompt and how to continue it. Immutable once submitted.</summary>
public sealed record GenerationRequest
{
    public required int[] PromptTokens { get; init; }

    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Most tokens to generate; null means until the context is full.</summary>
    public int? MaxTokens { get; init; }
}

/// <summary>Outcome of offering a request to the engine.</summary>
public enum AdmissionStatus
{
    Accepted,
    QueueFull,
    ContextLengthExceeded,
    NotGenerative,
    ShuttingDown,
}
