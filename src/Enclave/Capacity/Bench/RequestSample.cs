namespace Enclave.Capacity.Bench;

/// <summary>
/// What the client saw of one request. Times are milliseconds, taken with <see cref="System.Diagnostics.Stopwatch"/>
/// on the client: <see cref="StartMs"/> from the start of its load level, the others from when the request was
/// sent. A failed request has an <see cref="Error"/> kind (<c>http_503</c>, <c>stream_error</c>,
/// <c>connection_refused</c>, <c>connection_error</c>, <c>timeout</c>, <c>incomplete</c>, <c>protocol_error</c>).
/// Immutable.
/// </summary>
public sealed record RequestSample
{
    public required double StartMs { get; init; }

    /// <summary>Until the first chunk that carried generated text; null when none came.</summary>
    public double? TtftMs { get; init; }

    /// <summary>Until the end of the response (or the failure).</summary>
    public required double E2eMs { get; init; }

    /// <summary>The server's <c>usage.completion_tokens</c> when it reported usage, else the text chunks counted.</summary>
    public int OutputTokens { get; init; }

    /// <summary>The server's <c>usage.prompt_tokens</c>; null when it reported none.</summary>
    public int? InputTokens { get; init; }

    /// <summary>Whether the server reported usage (otherwise <see cref="OutputTokens"/> counts chunks).</summary>
    public bool UsageReported { get; init; }

    /// <summary>Gaps between consecutive text chunks (inter-token latency when each chunk carries one token).</summary>
    public IReadOnlyList<double> ChunkGapsMs { get; init; } = [];

    public string? Error { get; init; }

    /// <summary>The server's error message or the exception's, for the first failures shown to the user.</summary>
    public string? ErrorMessage { get; init; }

    public bool Succeeded => Error is null;

    /// <summary>Time per output token after the first: (E2E − TTFT) / (tokens − 1); null below two tokens.</summary>
    public double? TpotMs => Succeeded && TtftMs is { } ttft && OutputTokens > 1 ? (E2eMs - ttft) / (OutputTokens - 1) : null;
}
