namespace Enclave.Engine;

/// <summary>A snapshot of one engine's load, for readiness, metrics and tests.</summary>
public sealed record EngineStatus(
    int Slots,
    int ActiveSequences,
    int QueuedRequests,
    int ContextPerSequence,
    long KvCellsUsed,
    long KvCellsTotal,
    long PromptTokensProcessed,
    long TokensGenerated,
    long DecodeSteps);
