namespace Enclave.Capacity.Bench;

/// <summary>
/// The raw outcome of one load level: every request's sample in start order, the level's wall time (from its
/// start to the last response), and for open-loop levels the offered arrival rate and how late the client started
/// requests against their schedule (a large lag means the client, not the server, limited the load). Immutable.
/// </summary>
public sealed record LevelRun(LoadLevel Level, IReadOnlyList<RequestSample> Samples, double DurationSeconds, double? OfferedRate, double? DispatchLagP99Ms);
