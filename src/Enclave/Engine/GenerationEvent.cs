namespace Enclave.Engine;

/// <summary>Why a generation ended, as OpenAI reports it.</summary>
public enum FinishReason
{
    Stop,
    Length,
    Cancelled,
    Error,
}

/// <summary>One item of a generation stream.</summary>
public abstract record GenerationEvent;

/// <summary>Newly generated text (complete UTF-8 characters; text that might start a stop string is held back).</summary>
public sealed record TextDelta(string Text) : GenerationEvent;

/// <summary>
/// The last event of a successful or cut-short stream. <see cref="TimeToFirstToken"/> and <see cref="Duration"/>
/// count from admission to a slot; <see cref="QueueWait"/> is the time before it.
/// </summary>
public sealed record GenerationFinished(FinishReason Reason, int PromptTokens, int CompletionTokens, TimeSpan TimeToFirstToken, TimeSpan Duration, TimeSpan QueueWait = default) : GenerationEvent;

/// <summary>The last event of a failed stream.</summary>
public sealed record GenerationFailed(string Code, string Message) : GenerationEvent;
