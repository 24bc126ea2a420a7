namespace Enclave.Bench;

/// <summary>What one benchmark run measures and with which engine settings (the same for raw and HTTP).</summary>
internal sealed record BenchSettings
{
    public string? ModelPath { get; init; }

    public int CompletionTokens { get; init; } = 128;

    public int PromptTokens { get; init; } = 256;

    public string? JsonPath { get; init; }

    public int Repeats { get; init; } = 3;

    public IReadOnlyList<int> ConcurrencyLevels { get; init; } = [1, 2, 4, 8];

    public int Slots { get; init; } = 8;

    public int Threads { get; init; } = 1;

    public string? EnclavePath { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(180);

    public bool RawConcurrency { get; init; } = true;

    /// <summary>Completion tokens of a prefill run: only the first token matters, a few more make sure a text chunk arrives.</summary>
    public static int PrefillRunTokens => 4;

    /// <summary>Returns a message naming the bad setting, or null when all are in range.</summary>
    public string? Validate()
    {
        if (CompletionTokens is < 2 or > 8192)
        {
            return "--tokens must be from 2 to 8192 (decode speed needs at least two tokens).";
        }

        if (PromptTokens is < 8 or > 16384)
        {
            return "--prompt-tokens must be from 8 to 16384.";
        }

        if (Repeats is < 1 or > 50)
        {
            return "--repeats must be from 1 to 50.";
        }

        if (Slots is < 1 or > 64)
        {
            return "--slots must be from 1 to 64.";
        }

        if (Threads is < 1 or > 256)
        {
            return "--threads must be from 1 to 256.";
        }

        if (Timeout < TimeSpan.FromSeconds(5) || Timeout > TimeSpan.FromHours(1))
        {
            return "--timeout must be from 5 to 3600 seconds.";
        }

        return null;
    }
}
