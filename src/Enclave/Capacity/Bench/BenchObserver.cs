namespace Enclave.Capacity.Bench;

/// <summary>Callbacks for a run's progress: status lines, each finished request, each finished level. Immutable.</summary>
public sealed record BenchObserver(Action<string>? Status = null, Action<LevelProgress>? Progress = null, Action<int, LevelResult>? LevelDone = null);
