using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Telemetry;

/// <summary>Traces exported by OTLP from a real gateway: the client's W3C context continues, with GenAI attributes and engine phases.</summary>
public sealed class TracingTests
{
    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static Dictionary<string, string> Otlp(OtlpReceiver receiver) => new()
    {
        ["ENCLAVE__Telemetry__Otlp__Endpoint"] = receiver.Endpoint,
        ["ENCLAVE__Telemetry__Otlp__Protocol"] = "http/protobuf",
        ["ENCLAVE__Telemetry__Otlp__ExportIntervalMs"] = "200",
    };

    [Fact]
    public async Task ChatRequest_WithTraceparent_ExportsRequestUpstreamAndEnginePhaseSpansInTheClientsTrace()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("chat", TestModels.StoriesChat)], Otlp(receiver));
        var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        const string clientSpan = "00f067aa0ba902b7";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = Json(new { model = "chat", messages = new[] { new { role = "user", content = "Hello" } }, max_tokens = 5, stream = true }),
        };
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{clientSpan}-01");
        using (var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            await Sse.ReadEventsAsync(response);
        }

        var timeout = TimeSpan.FromSeconds(20);
        var http = await receiver.WaitForSpanAsync(s => s.TraceId == traceId && s.ParentSpanId == clientSpan, timeout);
        var chat = await receiver.WaitForSpanAsync(s => s.TraceId == traceId && s.Name == "chat chat", timeout);
        var upstream = await receiver.WaitForSpanAsync(s => s.TraceId == traceId && s.Name == "upstream local", timeout);
        var queue = await receiver.WaitForSpanAsync(s => s.TraceId == traceId && s.Name == "queue", timeout);
        var prefill = await receiver.WaitForSpanAsync(s => s.TraceId == traceId && s.Name == "prefill", timeout);
        var decode = await receiver.WaitForSpanAsync(s => s.TraceId == traceId && s.Name == "decode", timeout);

        Assert.Equal(http.SpanId, chat.ParentSpanId);
        Assert.Equal(chat.SpanId, upstream.ParentSpanId);
        Assert.All([queue, prefill, decode], p => Assert.Equal(upstream.SpanId, p.ParentSpanId));
        Assert.Equal(3, upstream.Kind); // SPAN_KIND_CLIENT
        Assert.Equal("chat", chat.Attributes["gen_ai.operation.name"]);
        Assert.Equal("chat", chat.Attributes["gen_ai.request.model"]);
        Assert.Equal("5", chat.Attributes["gen_ai.usage.output_tokens"]);
        Assert.True(int.Parse(chat.Attributes["gen_ai.usage.input_tokens"], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal("[length]", chat.Attributes["gen_ai.response.finish_reasons"]);
        Assert.Equal("anonymous", chat.Attributes["enclave.key_id"]);
        Assert.False(string.IsNullOrEmpty(chat.Attributes["enclave.request_id"]));

        // The phases lie back to back inside the upstream call, in order.
        Assert.True(queue.EndNanos <= prefill.StartNanos + 1000 && prefill.EndNanos <= decode.StartNanos + 1000);
        Assert.True(decode.EndNanos <= upstream.EndNanos && queue.StartNanos >= upstream.StartNanos - 5_000_000);
        Assert.True(decode.EndNanos > decode.StartNanos);
    }

    [Fact]
    public async Task FailedRequest_SpanHasErrorStatusAndType_AndMetricsArePushedByOtlp()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("chat", TestModels.StoriesChat)], Otlp(receiver));
        (await gateway.Http.PostAsync("/v1/chat/completions", Json(new { model = "absent", messages = new[] { new { role = "user", content = "Hi" } } }))).Dispose();

        var span = await receiver.WaitForSpanAsync(s => s.Name == "chat absent", TimeSpan.FromSeconds(20));
        Assert.Equal("model_not_found", span.Attributes["error.type"]);
        Assert.Equal("404", span.Attributes["http.response.status_code"]);

        var deadline = Deadline.In(TimeSpan.FromSeconds(20));
        while (!deadline.Passed && !receiver.MetricPayloads.Any(p => Encoding.UTF8.GetString(p).Contains("enclave.requests", StringComparison.Ordinal)))
        {
            await Task.Delay(100);
        }

        Assert.Contains(receiver.MetricPayloads, p => Encoding.UTF8.GetString(p).Contains("enclave.requests", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BadOtlpEndpoint_StopsStartupNamingTheSetting()
    {
        var result = await EnclaveCommand.RunAsync(["serve", "--data-dir", Path.Combine(Path.GetTempPath(), "enclave-otlp-" + Guid.NewGuid().ToString("N"))],
            new Dictionary<string, string?> { ["ENCLAVE__Telemetry__Otlp__Endpoint"] = "collector:4317" });
        Assert.NotEqual(0, result.Code);
        Assert.Contains("Telemetry:Otlp:Endpoint", result.Output + result.Error, StringComparison.Ordinal);
    }
}
