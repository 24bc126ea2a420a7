using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Enclave.Bench;

/// <summary>Collects the results of a run, prints them as tables with the target ratios, and writes them as JSON.</summary>
internal sealed class BenchReport(BenchSettings settings, string model, string enclave)
{
    public const double DecodeTarget = 0.95;
    public const double ScalingTarget = 3.0;

    public int ContextPerSequence { get; set; }

    public Prompts? Prompts { get; set; }

    public SingleStreamResult? RawSingle { get; set; }

    public SingleStreamResult? HttpSingle { get; set; }

    public IReadOnlyList<ConcurrencyResult> RawLevels { get; set; } = [];

    public IReadOnlyList<ConcurrencyResult> HttpLevels { get; set; } = [];

    /// <summary>The bare llama.cpp batched loop at each level: the batching ceiling of this machine.</summary>
    public IReadOnlyList<LoopResult> LoopLevels { get; set; } = [];

    /// <summary>Average busy cores per phase; other processes above <see cref="QuietLimit"/> make the figures unreliable.</summary>
    public Dictionary<string, CpuLoad?> Loads { get; } = new(StringComparer.Ordinal);

    public const double QuietLimit = 0.15;

    public IReadOnlyList<Ratio> Ratios()
    {
        var ratios = new List<Ratio>();
        if (RawSingle is { } raw && HttpSingle is { } http)
        {
            ratios.Add(new Ratio("HTTP decode / raw decode", http.DecodeRate / raw.DecodeRate, DecodeTarget));
            ratios.Add(new Ratio("HTTP prefill / raw prefill", http.PrefillRate / raw.PrefillRate, null));
        }

        if (HttpLevels.Count >= 2)
        {
            var low = HttpLevels[0];
            var high = HttpLevels[^1];
            var target = low.Concurrency == 1 && high.Concurrency == 8 ? ScalingTarget : (double?)null;
            ratios.Add(new Ratio($"HTTP aggregate@{high.Concurrency} / aggregate@{low.Concurrency}", high.AggregateRate / low.AggregateRate, target));
        }

        if (RawLevels.Count >= 2)
        {
            // The ceiling for the HTTP scaling ratio: the engine's own scaling without HTTP.
            ratios.Add(new Ratio($"raw aggregate@{RawLevels[^1].Concurrency} / aggregate@{RawLevels[0].Concurrency}", RawLevels[^1].AggregateRate / RawLevels[0].AggregateRate, null));
        }

        if (LoopLevels.Count >= 2)
        {
            ratios.Add(new Ratio($"llama.cpp loop aggregate@{LoopLevels[^1].Concurrency} / aggregate@{LoopLevels[0].Concurrency}", LoopLevels[^1].AggregateRate / LoopLevels[0].AggregateRate, null));
        }

        if (RawLevels.Count > 0 && HttpLevels.Count > 0)
        {
            var rawTop = RawLevels[^1];
            var httpTop = HttpLevels.First(l => l.Concurrency == rawTop.Concurrency);
            ratios.Add(new Ratio($"HTTP aggregate@{rawTop.Concurrency} / raw aggregate@{rawTop.Concurrency}", httpTop.AggregateRate / rawTop.AggregateRate, null));
        }

        return ratios;
    }

    /// <summary>Both paths must have prefilled the same prompt; a mismatch would make the prefill ratio meaningless.</summary>
    public void CheckPromptTokens(Action<string> warn)
    {
        if (RawSingle is null || HttpSingle is null)
        {
            return;
        }

        var raw = RawSingle.Prefill[0].PromptTokens;
        var http = HttpSingle.Prefill[0].PromptTokens;
        if (raw != http)
        {
            warn($"Warning: the raw prefill prompt had {raw} tokens but the HTTP one {http}; the prefill ratio compares different prompts.");
        }
    }

    public void Render()
    {
        var raw = RawSingle!;
        var http = HttpSingle!;
        var file = new FileInfo(model);
        AnsiConsole.WriteLine();
        AnsiConsole.MarkupLine(Markup.Escape(Invariant(
            $"Model {file.FullName} ({file.Length / 1048576.0:0.0} MiB); slots {settings.Slots}, threads {settings.Threads}, context {ContextPerSequence}/sequence; {Environment.ProcessorCount} CPUs; {Locations.BuildConfiguration} build")));
        AnsiConsole.MarkupLine(Markup.Escape(Invariant(
            $"Prefill prompt {raw.Prefill[0].PromptTokens} tokens; decode prompt {raw.Decode[0].PromptTokens} tokens, {settings.CompletionTokens} completion tokens; median of {settings.Repeats} runs after 1 warm-up (min-max in brackets)")));

        var single = new Table { Title = new TableTitle("Single stream") }
            .AddColumn("Metric")
            .AddColumn(new TableColumn("Raw engine").RightAligned())
            .AddColumn(new TableColumn("HTTP (SSE)").RightAligned())
            .AddColumn(new TableColumn("HTTP / raw").RightAligned());
        AddRow(single, "Prefill tokens/s", raw.PrefillRate, http.PrefillRate, Spread(raw.Prefill, s => s.PrefillRate), Spread(http.Prefill, s => s.PrefillRate));
        AddRow(single, "TTFT, long prompt (ms)", raw.PrefillTtftMs, http.PrefillTtftMs, null, null);
        AddRow(single, "Decode tokens/s", raw.DecodeRate, http.DecodeRate, Spread(raw.Decode, s => s.DecodeRate), Spread(http.Decode, s => s.DecodeRate));
        AddRow(single, "Decode ms/token", raw.MsPerToken, http.MsPerToken, null, null);
        AddRow(single, "TTFT, short prompt (ms)", raw.DecodeTtftMs, http.DecodeTtftMs, null, null);
        single.AddRow(
            "Text chunks per decode run",
            Invariant($"{Stats.Median(raw.Decode.Select(s => (double)s.Chunks)):0}"),
            Invariant($"{Stats.Median(http.Decode.Select(s => (double)s.Chunks)):0}"),
            "");
        AnsiConsole.Write(single);

        var levels = new Table { Title = new TableTitle($"Concurrent streams ({settings.CompletionTokens} tokens each, one round per level)") }
            .AddColumn(new TableColumn("Streams").RightAligned())
            .AddColumn(new TableColumn("Raw aggregate t/s").RightAligned())
            .AddColumn(new TableColumn("HTTP aggregate t/s").RightAligned())
            .AddColumn(new TableColumn("HTTP / raw").RightAligned())
            .AddColumn(new TableColumn("Raw per-stream decode").RightAligned())
            .AddColumn(new TableColumn("HTTP per-stream decode").RightAligned())
            .AddColumn(new TableColumn("HTTP TTFT ms").RightAligned())
            .AddColumn(new TableColumn("HTTP wall s").RightAligned())
            .AddColumn(new TableColumn("Tokens/step raw, HTTP").RightAligned())
            .AddColumn(new TableColumn("llama.cpp loop t/s (ms/step)").RightAligned());
        foreach (var h in HttpLevels)
        {
            var r = RawLevels.FirstOrDefault(l => l.Concurrency == h.Concurrency);
            var loop = LoopLevels.FirstOrDefault(l => l.Concurrency == h.Concurrency);
            levels.AddRow(
                h.Concurrency.ToString(CultureInfo.InvariantCulture),
                r is null ? "-" : Invariant($"{r.AggregateRate:0.0}"),
                Invariant($"{h.AggregateRate:0.0}"),
                r is null ? "-" : Invariant($"{h.AggregateRate / r.AggregateRate:0.000}"),
                r is null ? "-" : Invariant($"{r.MedianStreamDecodeRate:0.0}"),
                Invariant($"{h.MedianStreamDecodeRate:0.0}"),
                Invariant($"{h.MedianTtftMs:0.0}"),
                Invariant($"{h.Wall.TotalSeconds:0.00}"),
                Invariant($"{(r is null ? "-" : Steps(r))}, {Steps(h)}"),
                loop is null ? "-" : Invariant($"{loop.AggregateRate:0.0} ({loop.MsPerStep:0.00})"));
        }

        AnsiConsole.Write(levels);

        var ratios = new Table { Title = new TableTitle("Ratios") }
            .AddColumn("Ratio")
            .AddColumn(new TableColumn("Value").RightAligned())
            .AddColumn(new TableColumn("Target").RightAligned())
            .AddColumn("Result");
        foreach (var ratio in Ratios())
        {
            ratios.AddRow(
                Markup.Escape(ratio.Name),
                Invariant($"{ratio.Value:0.000}"),
                ratio.Target is { } t ? Invariant($">= {t:0.00}") : "-",
                ratio.Pass switch { true => "[green]PASS[/]", false => "[red]MISS[/]", null => "[grey]info[/]" });
        }

        AnsiConsole.Write(ratios);

        var loads = Loads.Where(l => l.Value is not null).ToArray();
        if (loads.Length > 0)
        {
            AnsiConsole.MarkupLine(Markup.Escape("CPU load during each phase, in cores (machine total / this benchmark's processes / other processes):"));
            foreach (var (phase, load) in loads)
            {
                var noisy = load!.Others > QuietLimit;
                AnsiConsole.MarkupLine(Markup.Escape(Invariant($"  {phase,-20} {load.Machine:0.00} / {load.Own:0.00} / {load.Others:0.00}"))
                    + (noisy ? Invariant($" [yellow]other processes used more than {QuietLimit:0.00} cores: figures from this phase are unreliable[/]") : ""));
            }
        }
    }

    public async Task WriteJsonAsync(string path, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        await using var stream = File.Create(full);
        await using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("generated_at", TimeProvider.System.GetUtcNow());
        w.WriteStartObject("settings");
        w.WriteString("model", Path.GetFullPath(model));
        w.WriteNumber("model_bytes", new FileInfo(model).Length);
        w.WriteString("enclave", enclave);
        w.WriteString("configuration", Locations.BuildConfiguration);
        w.WriteNumber("cpus", Environment.ProcessorCount);
        w.WriteNumber("slots", settings.Slots);
        w.WriteNumber("threads", settings.Threads);
        w.WriteNumber("context_per_sequence", ContextPerSequence);
        w.WriteNumber("completion_tokens", settings.CompletionTokens);
        w.WriteNumber("prefill_prompt_tokens", RawSingle!.Prefill[0].PromptTokens);
        w.WriteNumber("decode_prompt_tokens", RawSingle.Decode[0].PromptTokens);
        w.WriteNumber("repeats", settings.Repeats);
        w.WriteEndObject();
        WriteSingle(w, "raw", RawSingle);
        WriteSingle(w, "http", HttpSingle!);
        w.WriteStartArray("concurrency");
        foreach (var h in HttpLevels)
        {
            w.WriteStartObject();
            w.WriteNumber("streams", h.Concurrency);
            if (RawLevels.FirstOrDefault(l => l.Concurrency == h.Concurrency) is { } r)
            {
                WriteLevel(w, "raw", r);
            }

            WriteLevel(w, "http", h);
            if (LoopLevels.FirstOrDefault(l => l.Concurrency == h.Concurrency) is { } loop)
            {
                w.WriteStartObject("llama_cpp_loop");
                w.WriteNumber("aggregate_tokens_per_second", Math.Round(loop.AggregateRate, 2));
                w.WriteNumber("ms_per_step", Math.Round(loop.MsPerStep, 3));
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("ratios");
        foreach (var ratio in Ratios())
        {
            w.WriteStartObject();
            w.WriteString("name", ratio.Name);
            w.WriteNumber("value", Math.Round(ratio.Value, 4));
            if (ratio.Target is { } t)
            {
                w.WriteNumber("target", t);
                w.WriteBoolean("pass", ratio.Pass == true);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartObject("cpu_load_cores");
        foreach (var (phase, load) in Loads.Where(l => l.Value is not null))
        {
            w.WriteStartObject(phase);
            w.WriteNumber("machine", Round(load!.Machine));
            w.WriteNumber("own", Round(load.Own));
            w.WriteNumber("others", Round(load.Others));
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteSingle(Utf8JsonWriter w, string name, SingleStreamResult result)
    {
        w.WriteStartObject(name);
        w.WriteNumber("prefill_tokens_per_s", Round(result.PrefillRate));
        w.WriteNumber("prefill_ttft_ms", Round(result.PrefillTtftMs));
        w.WriteNumber("decode_tokens_per_s", Round(result.DecodeRate));
        w.WriteNumber("decode_ttft_ms", Round(result.DecodeTtftMs));
        WriteSamples(w, "prefill_runs", result.Prefill);
        WriteSamples(w, "decode_runs", result.Decode);
        w.WriteEndObject();
    }

    private static void WriteLevel(Utf8JsonWriter w, string name, ConcurrencyResult level)
    {
        w.WriteStartObject(name);
        w.WriteNumber("aggregate_tokens_per_s", Round(level.AggregateRate));
        w.WriteNumber("completion_tokens", level.TotalCompletionTokens);
        w.WriteNumber("wall_s", Math.Round(level.Wall.TotalSeconds, 4));
        w.WriteNumber("median_stream_decode_tokens_per_s", Round(level.MedianStreamDecodeRate));
        w.WriteNumber("median_ttft_ms", Round(level.MedianTtftMs));
        if (level.DecodeSteps is { } steps)
        {
            w.WriteNumber("decode_steps", steps);
        }

        WriteSamples(w, "streams", level.Streams);
        w.WriteEndObject();
    }

    private static void WriteSamples(Utf8JsonWriter w, string name, IEnumerable<StreamSample> samples)
    {
        w.WriteStartArray(name);
        foreach (var s in samples)
        {
            w.WriteStartObject();
            w.WriteNumber("prompt_tokens", s.PromptTokens);
            w.WriteNumber("completion_tokens", s.CompletionTokens);
            w.WriteNumber("ttft_ms", Round(s.Ttft.TotalMilliseconds));
            w.WriteNumber("decode_ms", Round(s.DecodeTime.TotalMilliseconds));
            w.WriteNumber("wall_ms", Round(s.Wall.TotalMilliseconds));
            w.WriteNumber("text_chunks", s.Chunks);
            w.WriteString("finish_reason", s.FinishReason);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static string Steps(ConcurrencyResult level) => double.IsNaN(level.TokensPerStep) ? "-" : Invariant($"{level.TokensPerStep:0.00}");

    private static double Round(double value) => double.IsFinite(value) ? Math.Round(value, 3) : 0;

    private static void AddRow(Table table, string metric, double raw, double http, string? rawSpread, string? httpSpread) =>
        table.AddRow(
            metric,
            Invariant($"{raw:0.0}") + (rawSpread is null ? "" : " " + rawSpread),
            Invariant($"{http:0.0}") + (httpSpread is null ? "" : " " + httpSpread),
            Invariant($"{http / raw:0.000}"));

    private static string Spread(IEnumerable<StreamSample> samples, Func<StreamSample, double> rate)
    {
        var values = samples.Select(rate).ToArray();
        return Markup.Escape(Invariant($"[{values.Min():0}-{values.Max():0}]"));
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
