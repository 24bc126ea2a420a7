namespace Enclave.Capacity.Bench;

/// <summary>A load level's progress, reported after each finished request. Immutable.</summary>
public sealed record LevelProgress(int LevelIndex, LoadLevel Level, int Finished, int Failed, TimeSpan Elapsed, long OutputTokens);
