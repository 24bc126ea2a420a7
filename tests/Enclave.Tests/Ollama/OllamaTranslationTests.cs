using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Enclave.Api;
using Enclave.Api.Ollama;
using Microsoft.Extensions.Time.Testing;

namespace Enclave.Tests.Ollama;

/// <summary>The Ollama translation in isolation: requests into OpenAI bodies, SSE into NDJSON, errors, names, durations.</summary>
public sealed class OllamaTranslationTests
{
    private const string ChatStream =
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n\n" +
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}],\"usage\":null}\n\n" +
        ": keep-alive\n\n" +
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\u00e9\"},\"finish_reason\":null}],\"usage\":null}\n\n" +
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":null}\n\n" +
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":2,\"total_tokens\":13}}\n\n" +
        "data: [DONE]\n\n";

    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero));

    private static OllamaCall Call(OllamaKind kind, bool stream) => new(kind, "chat:latest", "chat", stream, "v1/chat/completions", [], null);

    private static List<JsonObject> Lines(ArrayBufferWriter<byte> output)
    {
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        return [.. text[..^1].Split('\n').Select(l => JsonNode.Parse(l)!.AsObject())];
    }

    [Fact]
    public void AppendSse_StreamingChat_OneLinePerTextChunk_ThenADoneLineWithCountsAndDurations()
    {
        var translator = new OllamaResponseTranslator(Call(OllamaKind.Chat, stream: true), Clock, Stopwatch.GetTimestamp());
        translator.OnStarted(Stopwatch.GetTimestamp());
        var output = new ArrayBufferWriter<byte>();

        translator.AppendSse(Encoding.UTF8.GetBytes(ChatStream), output);

        var lines = Lines(output);
        Assert.Equal(3, lines.Count);
        Assert.Equal(["Hel", "lo é"], lines[..2].Select(l => (string?)l["message"]!["content"]));
        Assert.All(lines[..2], l => Assert.False((bool)l["done"]!));
        Assert.All(lines, l => Assert.Equal("chat:latest", (string?)l["model"]));
        Assert.All(lines, l => Assert.Equal("2026-03-04T05:06:07Z", (string?)l["created_at"]));
        var done = lines[2];
        Assert.True((bool)done["done"]!);
        Assert.Equal("length", (string?)done["done_reason"]);
        Assert.Equal(11, (int)done["prompt_eval_count"]!);
        Assert.Equal(2, (int)done["eval_count"]!);
        Assert.Equal("", (string?)done["message"]!["content"]);
        var total = (long)done["total_duration"]!;
        Assert.True(total >= (long)done["load_duration"]! + (long)done["prompt_eval_duration"]! + (long)done["eval_duration"]!);
        Assert.True(translator.Finished);
    }

    [Fact]
    public void AppendSse_SplitAtAnyByte_GivesTheSameLines()
    {
        var bytes = Encoding.UTF8.GetBytes(ChatStream);
        string? expected = null;
        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            var translator = new OllamaResponseTranslator(Call(OllamaKind.Generate, stream: true), Clock, Stopwatch.GetTimestamp());
            translator.OnStarted(Stopwatch.GetTimestamp());
            var output = new ArrayBufferWriter<byte>();
            translator.AppendSse(bytes.AsSpan(0, cut), output);
            translator.AppendSse(bytes.AsSpan(cut), output);
            var lines = Lines(output);
            foreach (var line in lines)
            {
                // Durations depend on when the bytes arrived; everything else must not.
                foreach (var name in line.Select(p => p.Key).Where(k => k.EndsWith("_duration", StringComparison.Ordinal)).ToList())
                {
                    line.Remove(name);
                }
            }

            var text = string.Join('\n', lines.Select(l => l.ToJsonString()));
            expected ??= text;
            Assert.Equal(expected, text);
        }

        Assert.Contains("\"response\":\"Hel\"", expected, StringComparison.Ordinal);
    }

    [Fact]
    public void AppendSse_ErrorEvent_EndsWithAnErrorObjectAndNoDoneLine()
    {
        var translator = new OllamaResponseTranslator(Call(OllamaKind.Chat, stream: true), Clock, Stopwatch.GetTimestamp());
        var output = new ArrayBufferWriter<byte>();
        var stream = ChatStream[..ChatStream.IndexOf(": keep-alive", StringComparison.Ordinal)]
            + "data: {\"error\":{\"message\":\"The model worker stopped.\",\"type\":\"server_error\",\"param\":null,\"code\":\"worker_crashed\"}}\n\n";

        translator.AppendSse(Encoding.UTF8.GetBytes(stream), output);

        var lines = Lines(output);
        Assert.Equal(2, lines.Count);
        Assert.Equal("{\"error\":\"The model worker stopped.\"}", lines[1].ToJsonString());
        Assert.True(translator.Finished);
        Assert.Equal(500, translator.WholeFromStream()!.Value.Status);
    }

    [Fact]
    public void WholeFromStream_ClientNotStreaming_OneObjectWithAllTheText()
    {
        var translator = new OllamaResponseTranslator(Call(OllamaKind.Generate, stream: false), Clock, Stopwatch.GetTimestamp());
        translator.OnStarted(Stopwatch.GetTimestamp());
        var output = new ArrayBufferWriter<byte>();

        translator.AppendSse(Encoding.UTF8.GetBytes(ChatStream), output);
        var (status, body) = translator.WholeFromStream()!.Value;

        Assert.Equal(0, output.WrittenCount);
        Assert.Equal(200, status);
        var whole = JsonNode.Parse(body)!.AsObject();
        Assert.Equal("Hello é", (string?)whole["response"]);
        Assert.True((bool)whole["done"]!);
        Assert.Equal(2, (int)whole["eval_count"]!);
    }

    [Fact]
    public void WholeFromStream_StreamCutWithoutAnEnd_HasNoAnswer()
    {
        var translator = new OllamaResponseTranslator(Call(OllamaKind.Chat, stream: false), Clock, Stopwatch.GetTimestamp());
        translator.AppendSse(Encoding.UTF8.GetBytes(ChatStream[..ChatStream.IndexOf("data: [DONE]", StringComparison.Ordinal)]), new ArrayBufferWriter<byte>());

        Assert.False(translator.Finished);
        Assert.Null(translator.WholeFromStream());
    }

    [Theory]
    [InlineData(404, "model_not_found", "model", "The model 'chat' does not exist or you do not have access to it.", "model 'chat:latest' not found")]
    [InlineData(400, "integer_above_max_value", "max_tokens", "Invalid value for 'max_tokens': expected an integer of at most 10.", "Invalid value for 'options.num_predict': expected an integer of at most 10.")]
    [InlineData(400, "model_not_supported", "model", "The model 'chat' is an embedding model; use /v1/embeddings.", "model 'chat:latest' does not support generate")]
    [InlineData(429, "queue_full", null, "The model is at capacity.", "The model is at capacity.")]
    public void TranslateJson_ErrorEnvelope_BecomesOllamasErrorObject(int status, string code, string? param, string message, string expected)
    {
        var translator = new OllamaResponseTranslator(Call(OllamaKind.Generate, stream: true), Clock, Stopwatch.GetTimestamp());
        var envelope = new ApiError(status, "invalid_request_error", code, message, param).ToJsonBytes();

        var (translatedStatus, body) = translator.TranslateJson(status, envelope);

        Assert.Equal(status, translatedStatus);
        Assert.Equal(expected, JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public void TranslateJson_Embeddings_BecomeOllamasVectors()
    {
        const string openAi = """{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-0.25]},{"object":"embedding","index":1,"embedding":[1,0]}],"model":"bert","usage":{"prompt_tokens":6,"total_tokens":6}}""";
        var embed = new OllamaResponseTranslator(Call(OllamaKind.Embed, stream: false), Clock, Stopwatch.GetTimestamp()).TranslateJson(200, Encoding.UTF8.GetBytes(openAi));
        var legacy = new OllamaResponseTranslator(Call(OllamaKind.Embeddings, stream: false), Clock, Stopwatch.GetTimestamp()).TranslateJson(200, Encoding.UTF8.GetBytes(openAi));

        var root = JsonNode.Parse(embed.Body)!.AsObject();
        Assert.Equal("[[0.5,-0.25],[1,0]]", root["embeddings"]!.ToJsonString());
        Assert.Equal(6, (int)root["prompt_eval_count"]!);
        Assert.Equal("chat:latest", (string?)root["model"]);
        Assert.Equal("{\"embedding\":[0.5,-0.25]}", Encoding.UTF8.GetString(legacy.Body));
    }

    [Fact]
    public void Chat_Request_BecomesAStreamedOpenAiRequestWithOllamasDefaults()
    {
        var ollama = JsonDocument.Parse("""
            {"model":"chat:latest","stream":false,"keep_alive":"10m",
             "messages":[{"role":"system","content":"Be kind."},{"role":"user","content":"Hi"},{"role":"assistant"}],
             "options":{"temperature":0.2,"seed":-1,"num_predict":-1,"stop":["\n"],"num_ctx":8192,"repeat_last_n":64,"mirostat":0}}
            """).RootElement;

        var call = OllamaRequestTranslator.Chat(ollama, "chat:latest", "chat");

        Assert.False(call.Stream);
        Assert.Equal("v1/chat/completions", call.UpstreamPath);
        var body = JsonNode.Parse(call.Body)!.AsObject();
        Assert.Equal("chat", (string?)body["model"]);
        Assert.Equal("""[{"role":"system","content":"Be kind."},{"role":"user","content":"Hi"},{"role":"assistant","content":""}]""", body["messages"]!.ToJsonString());
        Assert.Equal(0.2, (double)body["temperature"]!);
        Assert.Equal(0.9, (double)body["top_p"]!);
        Assert.Equal(40, (int)body["top_k"]!);
        Assert.Equal(1.1, (double)body["repeat_penalty"]!);
        Assert.Equal("[\"\\n\"]", body["stop"]!.ToJsonString());
        Assert.True((bool)body["stream"]!);
        Assert.True((bool)body["stream_options"]!["include_usage"]!);
        Assert.False(body.ContainsKey("seed"));
        Assert.False(body.ContainsKey("max_tokens"));
        Assert.False(body.ContainsKey("num_ctx"));
    }

    [Fact]
    public void Generate_Request_RawGoesToCompletions_OtherwiseThroughTheChatTemplate()
    {
        var raw = OllamaRequestTranslator.Generate(JsonDocument.Parse("""{"model":"m","prompt":"Once","raw":true,"options":{"seed":42,"num_predict":5}}""").RootElement, "m", "m");
        var templated = OllamaRequestTranslator.Generate(JsonDocument.Parse("""{"model":"m","prompt":"Once","system":"Short."}""").RootElement, "m", "m");

        Assert.True(raw.Stream);
        Assert.Equal("v1/completions", raw.UpstreamPath);
        var rawBody = JsonNode.Parse(raw.Body)!.AsObject();
        Assert.Equal("Once", (string?)rawBody["prompt"]);
        Assert.Equal(42, (int)rawBody["seed"]!);
        Assert.Equal(5, (int)rawBody["max_tokens"]!);
        Assert.Equal("v1/chat/completions", templated.UpstreamPath);
        Assert.Equal("""[{"role":"system","content":"Short."},{"role":"user","content":"Once"}]""", JsonNode.Parse(templated.Body)!["messages"]!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"model":"m"}""", "load")]
    [InlineData("""{"model":"m","prompt":""}""", "load")]
    [InlineData("""{"model":"m","keep_alive":"5m"}""", "load")]
    [InlineData("""{"model":"m","keep_alive":0}""", "unload")]
    [InlineData("""{"model":"m","keep_alive":"0s"}""", "unload")]
    public void Generate_WithoutAPrompt_IsALoadOrUnloadCall(string json, string reason)
    {
        var call = OllamaRequestTranslator.Generate(JsonDocument.Parse(json).RootElement, "m", "m");

        Assert.Null(call.Body);
        Assert.Equal(reason, call.LoadReason);
    }

    [Theory]
    [InlineData("5m", 300)]
    [InlineData("1h30m", 5400)]
    [InlineData("1.5s", 1.5)]
    [InlineData("250ms", 0.25)]
    [InlineData("0", 0)]
    [InlineData("-1m", -60)]
    [InlineData("300", 300)]
    public void KeepAlive_ReadsGoDurationsAndSeconds(string text, double seconds)
    {
        var root = JsonDocument.Parse(JsonSerializer.Serialize(new { keep_alive = text })).RootElement;

        Assert.Equal(TimeSpan.FromSeconds(seconds), OllamaKeepAlive.Read(root));
    }

    [Theory]
    [InlineData("""{"keep_alive":"soon"}""")]
    [InlineData("""{"keep_alive":"10x"}""")]
    [InlineData("""{"keep_alive":"m"}""")]
    [InlineData("""{"keep_alive":true}""")]
    public void KeepAlive_Malformed_Is400(string json)
    {
        var error = Assert.Throws<ApiErrorException>(() => OllamaKeepAlive.Read(JsonDocument.Parse(json).RootElement));
        Assert.Equal(400, error.Error.Status);
    }

    [Fact]
    public void KeepAlive_Negative_MeansForever()
    {
        Assert.True(OllamaKeepAlive.Read(JsonDocument.Parse("""{"keep_alive":-1}""").RootElement) < TimeSpan.Zero);
        Assert.Null(OllamaKeepAlive.Read(JsonDocument.Parse("{}").RootElement));
    }

    [Theory]
    [InlineData(8_030_261_248, "8.0B")]
    [InlineData(7_000_000_000, "7B")]
    [InlineData(137_000_000, "137M")]
    [InlineData(22_570_000, "22.57M")]
    [InlineData(292_736, "293K")]
    [InlineData(999, "999")]
    public void ParameterSize_PrintsLikeOllama(long count, string expected) => Assert.Equal(expected, OllamaWire.ParameterSize(count));

    [Theory]
    [InlineData("chat:latest", "chat")]
    [InlineData("chat", "chat")]
    [InlineData("tagged:7b", "tagged:7b")]
    [InlineData("tagged:7b:latest", "tagged:7b")]
    [InlineData("nope:latest", "nope:latest")]
    [InlineData(":latest", ":latest")]
    public void Resolve_DropsTheDefaultTagOnlyWhenThatNamesAModel(string requested, string expected)
    {
        string[] configured = ["chat", "tagged:7b"];

        Assert.Equal(expected, OllamaWire.Resolve(requested, configured.Contains));
        Assert.Equal("chat:latest", OllamaWire.ListedName("chat"));
        Assert.Equal("tagged:7b", OllamaWire.ListedName("tagged:7b"));
    }
}
