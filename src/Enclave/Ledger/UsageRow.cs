namespace Enclave.Ledger;

/// <summary>
/// One group of <see cref="LedgerQueries.UsageAsync"/>. Immutable. <see cref="Errors"/> counts statuses of 400 and
/// above; <see cref="P95TimeToFirstTokenMs"/> is the nearest-rank 95th percentile over the requests that produced a
/// first token (null when none did).
/// </summary>
public sealed record UsageRow(
    string Group,
    long Requests,
    long PromptTokens,
    long CompletionTokens,
    long Errors,
    double AvgLatencyMs,
    double? P95TimeToFirstTokenMs);

/// <summary>The answer of <c>enclave usage --json</c> and <c>GET /admin/usage</c>. Immutable.</summary>
public sealed record UsageReport(string By, DateTimeOffset? Since, IReadOnlyList<UsageRow> Rows);
