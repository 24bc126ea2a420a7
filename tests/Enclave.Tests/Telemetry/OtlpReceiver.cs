using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using System.Collections.Concurrent;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Telemetry;

/// <summary>One span as the gateway exported it over OTLP.</summary>
public sealed record ReceivedSpan(string TraceId, string SpanId, string ParentSpanId, string Name, int Kind, ulong StartNanos, ulong EndNanos, IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// A real OTLP/HTTP (protobuf) collector endpoint on loopback for tests: accepts <c>/v1/traces</c> and
/// <c>/v1/metrics</c>, decodes spans with a small protobuf wire reader, and keeps metric payloads raw.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private readonly ConcurrentQueue<byte[]> _metrics = new();

    private OtlpReceiver(WebApplication app, int port)
    {
        _app = app;
        Endpoint = $"http://127.0.0.1:{port}";
    }

    public string Endpoint { get; }

    public IReadOnlyCollection<ReceivedSpan> Spans => _spans;

    public IReadOnlyCollection<byte[]> MetricPayloads => _metrics;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var port = GatewayProcess.FreeTcpPort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var receiver = new OtlpReceiver(app, port);
        app.MapPost("/v1/traces", async (HttpContext http) =>
        {
            var body = await ReadAsync(http);
            foreach (var span in ParseTraces(body))
            {
                receiver._spans.Enqueue(span);
            }

            http.Response.ContentType = "application/x-protobuf";
        });
        app.MapPost("/v1/metrics", async (HttpContext http) =>
        {
            receiver._metrics.Enqueue(await ReadAsync(http));
            http.Response.ContentType = "application/x-protobuf";
        });
        await app.StartAsync();
        return receiver;
    }

    /// <summary>Waits until a span matches, or fails with what arrived.</summary>
    public async Task<ReceivedSpan> WaitForSpanAsync(Func<ReceivedSpan, bool> match, TimeSpan timeout)
    {
        var deadline = Deadline.In(timeout);
        while (!deadline.Passed)
        {
            if (_spans.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            await Task.Delay(100);
        }

        Assert.Fail("No matching span arrived. Received: " + string.Join("; ", _spans.Select(s => $"{s.Name} trace={s.TraceId} parent={s.ParentSpanId}")));
        return null!;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private static async Task<byte[]> ReadAsync(HttpContext http)
    {
        using var memory = new MemoryStream();
        await http.Request.Body.CopyToAsync(memory);
        return memory.ToArray();
    }

    // ExportTraceServiceRequest { 1: ResourceSpans { 2: ScopeSpans { 2: Span } } }
    private static IEnumerable<ReceivedSpan> ParseTraces(byte[] body)
    {
        foreach (var resource in Fields(body).Where(f => f.Number == 1))
        {
            foreach (var scope in Fields(resource.Bytes).Where(f => f.Number == 2))
            {
                foreach (var span in Fields(scope.Bytes).Where(f => f.Number == 2))
                {
                    yield return ParseSpan(span.Bytes);
                }
            }
        }
    }

    // Span: 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind, 7 start (fixed64), 8 end (fixed64), 9 attributes
    private static ReceivedSpan ParseSpan(byte[] span)
    {
        string trace = "", id = "", parent = "", name = "";
        int kind = 0;
        ulong start = 0, end = 0;
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Fields(span))
        {
            switch (f.Number)
            {
                case 1: trace = Convert.ToHexStringLower(f.Bytes); break;
                case 2: id = Convert.ToHexStringLower(f.Bytes); break;
                case 4: parent = Convert.ToHexStringLower(f.Bytes); break;
                case 5: name = System.Text.Encoding.UTF8.GetString(f.Bytes); break;
                case 6: kind = (int)f.Value; break;
                case 7: start = f.Value; break;
                case 8: end = f.Value; break;
                case 9:
                    var (key, value) = ParseKeyValue(f.Bytes);
                    attributes[key] = value;
                    break;
            }
        }

        return new ReceivedSpan(trace, id, parent, name, kind, start, end, attributes);
    }

    // KeyValue { 1 key, 2 AnyValue { 1 string, 2 bool, 3 int, 4 double, 5 array { 1 AnyValue } } }
    private static (string Key, string Value) ParseKeyValue(byte[] kv)
    {
        var key = "";
        var value = "";
        foreach (var f in Fields(kv))
        {
            if (f.Number == 1)
            {
                key = System.Text.Encoding.UTF8.GetString(f.Bytes);
            }
            else if (f.Number == 2)
            {
                value = AnyValue(f.Bytes);
            }
        }

        return (key, value);
    }

    private static string AnyValue(byte[] any)
    {
        foreach (var f in Fields(any))
        {
            switch (f.Number)
            {
                case 1: return System.Text.Encoding.UTF8.GetString(f.Bytes);
                case 2: return f.Value != 0 ? "true" : "false";
                case 3: return ((long)f.Value).ToString(System.Globalization.CultureInfo.InvariantCulture);
                case 4: return BitConverter.UInt64BitsToDouble(f.Value).ToString(System.Globalization.CultureInfo.InvariantCulture);
                case 5: return "[" + string.Join(",", Fields(f.Bytes).Where(e => e.Number == 1).Select(e => AnyValue(e.Bytes))) + "]";
            }
        }

        return "";
    }

    private readonly record struct Field(int Number, ulong Value, byte[] Bytes);

    private static List<Field> Fields(byte[] data)
    {
        var fields = new List<Field>();
        var at = 0;
        while (at < data.Length)
        {
            var tag = Varint(data, ref at);
            var number = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    fields.Add(new Field(number, Varint(data, ref at), []));
                    break;
                case 1:
                    fields.Add(new Field(number, BitConverter.ToUInt64(data, at), []));
                    at += 8;
                    break;
                case 2:
                    var length = (int)Varint(data, ref at);
                    fields.Add(new Field(number, 0, data[at..(at + length)]));
                    at += length;
                    break;
                case 5:
                    fields.Add(new Field(number, BitConverter.ToUInt32(data, at), []));
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"Unsupported protobuf wire type {tag & 7}.");
            }
        }

        return fields;
    }

    private static ulong Varint(byte[] data, ref int at)
    {
        ulong result = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = data[at++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }
    }
}
