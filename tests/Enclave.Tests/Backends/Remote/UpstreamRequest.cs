using System.Diagnostics;
using System.Text.Json;

namespace Enclave.Tests.Backends.Remote;

/// <summary>
/// One request as <see cref="FaultUpstream"/> received it, and what became of it. The arrival fields are fixed; the
/// outcome fields are written by the request's handler and are safe to read from any thread (timestamps are
/// <see cref="Stopwatch"/> ticks, 0 until they happen).
/// </summary>
public sealed class UpstreamRequest
{
    private readonly List<string> _events = [];
    private long _headersSentAt;
    private long _endedAt;
    private long _abortedAt;
    private long _faultAt;
    private long _bytesSent;

    public required int Sequence { get; init; }

    public required long ReceivedAt { get; init; }

    public required string Method { get; init; }

    /// <summary>The path, e.g. <c>/v1/chat/completions</c>.</summary>
    public required string Path { get; init; }

    /// <summary>The body's <c>model</c> (null for GET requests or bodies without one).</summary>
    public string? Model { get; init; }

    public string? Authorization { get; init; }

    public string? Traceparent { get; init; }

    public required string Body { get; init; }

    public bool IsInference => Method == "POST";

    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    /// <summary>The fault this request met (<c>ok</c>, <c>429</c>, <c>rst</c>, <c>cut</c>, ...).</summary>
    public string Outcome { get; set; } = "ok";

    /// <summary>When the response headers were flushed.</summary>
    public long HeadersSentAt => Interlocked.Read(ref _headersSentAt);

    /// <summary>When the wall finished its answer (normal end, reset, or clean close), whichever came first.</summary>
    public long EndedAt => Interlocked.Read(ref _endedAt);

    /// <summary>When the wall saw the client (the gateway) go away before the answer was complete.</summary>
    public long AbortedAt => Interlocked.Read(ref _abortedAt);

    /// <summary>When the injected fault struck (the reset, the cut, the stall's start, the bad event).</summary>
    public long FaultAt => Interlocked.Read(ref _faultAt);

    /// <summary>Body bytes written so far (for the huge error body).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>The SSE data payloads sent, in order (without <c>data: </c>).</summary>
    public IReadOnlyList<string> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    internal void AddEvent(string data)
    {
        lock (_events)
        {
            _events.Add(data);
        }
    }

    internal void MarkHeadersSent() => Interlocked.CompareExchange(ref _headersSentAt, Stopwatch.GetTimestamp(), 0);

    internal void MarkEnded() => Interlocked.CompareExchange(ref _endedAt, Stopwatch.GetTimestamp(), 0);

    internal void MarkAborted() => Interlocked.CompareExchange(ref _abortedAt, Stopwatch.GetTimestamp(), 0);

    internal void MarkFault() => Interlocked.CompareExchange(ref _faultAt, Stopwatch.GetTimestamp(), 0);

    internal void AddBytes(long count) => Interlocked.Add(ref _bytesSent, count);

    public override string ToString() =>
        $"#{Sequence} {Method} {Path} model={Model ?? "-"} outcome={Outcome} bytes={BytesSent}{(EndedAt != 0 ? " ended" : "")}{(AbortedAt != 0 ? " aborted" : "")}";
}
