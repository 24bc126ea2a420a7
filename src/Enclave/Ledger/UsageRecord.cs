namespace Enclave.Ledger;

/// <summary>
/// One finished request as the usage ledger stores it: who asked (<see cref="KeyId"/>), what ran, how many tokens,
/// how long it took and how it ended. Immutable and therefore safe to share between threads; no prompt or completion
/// text is ever part of it.
/// </summary>
public sealed record UsageRecord
{
    /// <summary>The request id (the <c>x-request-id</c> the gateway answered with). Unique in the ledger.</summary>
    public required string RequestId { get; init; }

    /// <summary>When the request arrived; stored in UTC.</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>The API key id, or <c>anonymous</c> when the request carried none.</summary>
    public string KeyId { get; init; } = "anonymous";

    /// <summary>The model name the client asked for.</summary>
    public required string Model { get; init; }

    /// <summary>Which backend served it (<c>local</c> for the embedded llama.cpp workers).</summary>
    public string Backend { get; init; } = "local";

    /// <summary>The route, e.g. <c>/v1/chat/completions</c>.</summary>
    public required string Route { get; init; }

    public bool Stream { get; init; }

    public int PromptTokens { get; init; }

    public int CompletionTokens { get; init; }

    /// <summary>Milliseconds from arrival to the first generated token; null when none was generated.</summary>
    public double? TimeToFirstTokenMs { get; init; }

    /// <summary>Milliseconds from arrival to the last byte.</summary>
    public double LatencyMs { get; init; }

    /// <summary>The HTTP status sent (200 for a stream that later failed in-band; see <see cref="ErrorCode"/>).</summary>
    public int Status { get; init; }

    /// <summary>The error envelope's <c>code</c>, when the request failed.</summary>
    public string? ErrorCode { get; init; }

    public string? FinishReason { get; init; }

    /// <summary>Comma-separated guardrails that fired; empty when none.</summary>
    public string GuardrailTriggers { get; init; } = "";
}
