using System.ComponentModel.DataAnnotations;

namespace Enclave.Api;

/// <summary>Bounds on what one request may ask for. Bound from the <c>Limits</c> section.</summary>
public sealed class ApiLimits
{
    [Range(1024, 1L << 31)]
    public long MaxBodyBytes { get; set; } = 8L << 20;

    [Range(4, 256)]
    public int MaxJsonDepth { get; set; } = 32;

    [Range(1, 100_000)]
    public int MaxMessages { get; set; } = 2048;

    [Range(1, 64)]
    public int MaxStopSequences { get; set; } = 4;

    [Range(1, 4096)]
    public int MaxStopLength { get; set; } = 256;

    [Range(1, 10_000)]
    public int MaxEmbeddingInputs { get; set; } = 256;
}
