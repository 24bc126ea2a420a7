namespace Enclave.Ui.Internal;

/// <summary>The last sampled value of each per-model gauge within one second; null when it was not sampled.</summary>
internal sealed class ModelGauges
{
    public double? QueueDepth { get; set; }

    public double? ActiveSequences { get; set; }

    public double? KvCacheUsage { get; set; }

    public double? Up { get; set; }

    public double? Restarts { get; set; }
}
