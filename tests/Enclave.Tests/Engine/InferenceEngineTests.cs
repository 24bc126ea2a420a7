using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Enclave.Engine;
using Enclave.Native;
using Enclave.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Enclave.Tests.Engine;

/// <summary>The engine in-process, against the real llama.cpp and real models (1 thread).</summary>
public sealed class InferenceEngineTests : IDisposable
{
    private readonly InferenceEngine _engine;

    public InferenceEngineTests()
    {
        LlamaLibrary.Initialize();
        _engine = InferenceEngine.Load(
            new EngineOptions { Path = TestModels.Stories, Threads = 1, Slots = 4, ContextSize = 2048, PrefillChunk = 32 },
            NullLogger.Instance);
    }

    public void Dispose() => _engine.Dispose();

    private ChannelReader<GenerationEvent> Submit(string prompt, int? maxTokens, SamplingOptions? sampling = null, CancellationToken ct = default)
    {
        var status = _engine.TrySubmit(
            new GenerationRequest { PromptTokens = _engine.Tokenize(prompt), MaxTokens = maxTokens, Sampling = sampling ?? SamplingOptions.Greedy },
            ct,
            out var events);
        Assert.Equal(AdmissionStatus.Accepted, status);
        return events!;
    }

    private static async Task<(string Text, GenerationFinished Finished)> CollectAsync(ChannelReader<GenerationEvent> events)
    {
        var text = new StringBuilder();
        await foreach (var e in events.ReadAllAsync())
        {
            switch (e)
            {
                case TextDelta d:
                    text.Append(d.Text);
                    break;
                case GenerationFinished f:
                    return (text.ToString(), f);
                case GenerationFailed f:
                    Assert.Fail($"generation failed: {f.Code} {f.Message}");
                    break;
            }
        }

        throw new InvalidOperationException("stream ended without a final event");
    }

    [Fact]
    public async Task Generate_Greedy_MatchesReference()
    {
        var (text, finished) = await CollectAsync(Submit("Once upon a time", 40));

        Assert.Equal(", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.", text);
        Assert.Equal(FinishReason.Length, finished.Reason);
        Assert.Equal(40, finished.CompletionTokens);
        Assert.Equal(5, finished.PromptTokens);
    }

    [Fact]
    public async Task Cancel_RunningSequence_FreesSlotAndKvCells()
    {
        using var cts = new CancellationTokenSource();
        var events = Submit("Once upon a time", 2000, ct: cts.Token);
        Assert.True(await events.WaitToReadAsync());

        await cts.CancelAsync();
        var clock = Stopwatch.StartNew();
        while (_engine.GetStatus().ActiveSequences != 0)
        {
            Assert.True(clock.ElapsedMilliseconds < 500, "slot not freed within 500 ms");
            await Task.Delay(1);
        }

        Assert.Equal(0, _engine.GetStatus().KvCellsUsed);
        var last = await events.ReadAllAsync().LastAsync();
        Assert.Equal(FinishReason.Cancelled, Assert.IsType<GenerationFinished>(last).Reason);
    }

    [Fact]
    public async Task LongPrompt_IsPrefilledInChunks_WhileRunningStreamKeepsDecoding()
    {
        var running = Submit("Once upon a time", 600);
        Assert.True(await running.WaitToReadAsync());
        var longPrompt = string.Join(' ', Enumerable.Repeat("The little dog ran to the park and played with a ball.", 60));
        var stepsBefore = _engine.GetStatus().DecodeSteps;
        var tokensBefore = _engine.GetStatus().TokensGenerated;

        var longRequest = Submit(longPrompt, 1);
        var (_, finished) = await CollectAsync(longRequest);

        var status = _engine.GetStatus();
        var promptChunks = (int)Math.Ceiling(finished.PromptTokens / 32.0);
        Assert.True(finished.PromptTokens > 500, $"prompt was only {finished.PromptTokens} tokens");
        Assert.True(status.DecodeSteps - stepsBefore >= promptChunks, "the prompt was not split into chunks");
        // The running stream produced a token in (almost) every step the long prompt was being prefilled.
        Assert.True(status.TokensGenerated - tokensBefore >= promptChunks - 1, $"running stream stalled: {status.TokensGenerated - tokensBefore} tokens during {promptChunks} prefill steps");
        await CollectAsync(running);
    }

    [Fact]
    public async Task Concurrent_GreedyRequests_EqualSerialResults()
    {
        string[] prompts = ["Lily and Ben", "The dog", "One day", "Tom had a"];
        var serial = new List<string>();
        foreach (var p in prompts)
        {
            serial.Add((await CollectAsync(Submit(p, 32))).Text);
        }

        var together = await Task.WhenAll(prompts.Select(p => CollectAsync(Submit(p, 32))));

        Assert.Equal(serial, together.Select(t => t.Text));
    }

    [Fact]
    public async Task Seeded_Sampling_IsDeterministic()
    {
        var sampling = new SamplingOptions { Temperature = 0.8f, TopK = 40, TopP = 0.9f, MinP = 0.05f, Seed = 42, RepetitionPenalty = 1.1f, FrequencyPenalty = 0.2f, PresencePenalty = 0.1f };

        var a = await CollectAsync(Submit("The dog", 40, sampling: sampling));
        var b = await CollectAsync(Submit("The dog", 40, sampling: sampling));

        Assert.Equal(a.Text, b.Text);
    }

    [Fact]
    public void TrySubmit_PromptAtContextLimit_IsRejected()
    {
        var status = _engine.TrySubmit(new GenerationRequest { PromptTokens = new int[_engine.ContextPerSequence] }, default, out var events);

        Assert.Equal(AdmissionStatus.ContextLengthExceeded, status);
        Assert.Null(events);
    }

    [Fact]
    public async Task Penalties_ChangeGreedyOutput()
    {
        var plain = await CollectAsync(Submit("Once upon a time", 60));
        var penalised = await CollectAsync(Submit("Once upon a time", 60, sampling: SamplingOptions.Greedy with { RepetitionPenalty = 1.5f }));

        Assert.NotEqual(plain.Text, penalised.Text);
    }
}
