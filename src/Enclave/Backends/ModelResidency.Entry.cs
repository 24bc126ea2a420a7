namespace Enclave.Backends;

public sealed partial class ModelResidency
{
    /// <summary>One model to manage: its worker, its estimated size, whether it loads at start-up, its keep-alive.</summary>
    internal sealed record Spec(IResidentWorker Worker, long EstimatedBytes, bool Preload, KeepAlive KeepAlive);

    /// <summary>One model's residency; every mutable field is guarded by the owner's lock.</summary>
    internal sealed class Entry(Spec spec)
    {
        public string Name { get; } = spec.Worker.Name;

        public IResidentWorker Worker { get; } = spec.Worker;

        public long EstimatedBytes { get; } = spec.EstimatedBytes;

        public bool Preload { get; } = spec.Preload;

        public KeepAlive KeepAlive { get; } = spec.KeepAlive;

        public KeepAlive? Override { get; set; }

        /// <summary>Loaded or loading: counts against the budget.</summary>
        public bool Resident { get; set; }

        public int Leases { get; set; }

        public DateTimeOffset? LastUsed { get; set; }

        public DateTimeOffset? ExpiresAt { get; set; }

        public Task? Unloading { get; set; }

        public ITimer? Timer { get; set; }

        public long PeakResidentBytes { get; set; }

        public ModelAdmission? Refusal { get; set; }
    }
}
