using System.Buffers;

namespace Enclave.Api;

/// <summary>
/// Copies an upstream SSE body to the client as raw bytes, one whole event (or run of events) at a time, so a
/// failure never leaves half an event on the wire. Knows whether the stream ended properly: with
/// <c>data: [DONE]</c> or with an error event. Not thread-safe; one per stream.
/// </summary>
public sealed class SseRelay
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] DoneEvent = "data: [DONE]\n\n"u8.ToArray();
    private static readonly byte[] ErrorEventStart = "data: {\"error\""u8.ToArray();

    /// <summary>The worker's metering comment, <c>: usage {"prompt_tokens":P,"completion_tokens":C}</c>, sent before <c>[DONE]</c>.</summary>
    public static readonly byte[] UsageCommentPrefix = ": usage "u8.ToArray();

    /// <summary>True once a <c>[DONE]</c> or an error event has been relayed.</summary>
    public bool Finished { get; private set; }

    /// <summary>Token counts from the worker's usage comment, when one passed (it is not relayed).</summary>
    public (int PromptTokens, int CompletionTokens)? Usage { get; private set; }

    /// <summary>The finish reason from the worker's usage comment, when one passed.</summary>
    public string? FinishReason { get; private set; }

    /// <summary>The worker's queue, prefill and decode times from its usage comment, when one passed.</summary>
    public EngineTiming? Timing { get; private set; }

    /// <summary>Data events relayed, a fallback count of generated tokens when a stream breaks off.</summary>
    public int DataEvents { get; private set; }

    /// <summary>
    /// When true, the stream's last event (<c>[DONE]</c> or the error event) is kept back for
    /// <see cref="WriteFinalEventAsync"/>, so the caller can make its usage record durable before the client sees
    /// the end of the stream.
    /// </summary>
    public bool HoldFinalEvent { get; init; }

    /// <summary>
    /// Most bytes of one unfinished event (or run of events) held while waiting for its end; more fails the copy with
    /// <see cref="InvalidDataException"/>, so an upstream that never ends an event cannot grow the gateway's memory.
    /// </summary>
    public int MaxEventBytes { get; init; } = 1 << 20;

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> timestamp of the first event that carried generated text, or 0.</summary>
    public long FirstContentTimestamp { get; private set; }

    private byte[]? _finalEvent;

    /// <summary>
    /// Writes <paramref name="data"/> (a JSON payload) as one <c>data:</c> event in a single write, then flushes, so a
    /// write cut short (client gone, shutdown) never leaves half an event for the next one to be glued to.
    /// </summary>
    public static async Task WriteEventAsync(Stream client, byte[] data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        await client.WriteAsync((byte[])[.. DataPrefix, .. data, .. EventEnd], cancellationToken).ConfigureAwait(false);
        await client.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends the event kept back by <see cref="HoldFinalEvent"/>, if any.</summary>
    public async Task WriteFinalEventAsync(Stream client, CancellationToken cancellationToken)
    {
        if (_finalEvent is { } final)
        {
            _finalEvent = null;
            await client.WriteAsync(final, cancellationToken).ConfigureAwait(false);
            await client.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Relays until the upstream ends or fails; throws what the upstream read throws, and
    /// <see cref="InvalidDataException"/> for an event over <see cref="MaxEventBytes"/>.
    /// </summary>
    public async Task CopyAsync(Stream upstream, Stream client, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var filled = 0;
        try
        {
            while (!Finished)
            {
                if (filled == buffer.Length)
                {
                    if (buffer.Length >= MaxEventBytes)
                    {
                        throw new InvalidDataException($"An upstream event is larger than {MaxEventBytes} bytes.");
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await upstream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                filled += read;
                var end = buffer.AsSpan(0, filled).LastIndexOf(EventEnd);
                if (end < 0)
                {
                    continue;
                }

                var complete = end + EventEnd.Length;
                var events = buffer.AsMemory(0, complete);
                Finished = events.Span.EndsWith(DoneEvent) || LastEventStartsWith(events.Span, ErrorEventStart);
                DataEvents += events.Span.Count("data: "u8);
                if (FirstContentTimestamp == 0 && CarriesText(events.Span))
                {
                    FirstContentTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
                }

                if (Finished && HoldFinalEvent)
                {
                    var body = events.Span[..^EventEnd.Length];
                    var last = body.LastIndexOf(EventEnd);
                    var cut = last < 0 ? 0 : last + EventEnd.Length;
                    _finalEvent = events.Span[cut..].ToArray();
                    events = events[..cut];
                }

                await WriteWithoutUsageAsync(events, client, cancellationToken).ConfigureAwait(false);
                await client.FlushAsync(cancellationToken).ConfigureAwait(false);
                buffer.AsSpan(complete, filled - complete).CopyTo(buffer);
                filled -= complete;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task WriteWithoutUsageAsync(ReadOnlyMemory<byte> events, Stream client, CancellationToken cancellationToken)
    {
        var span = events.Span;
        var at = span.StartsWith(UsageCommentPrefix) ? 0 : span.IndexOf("\n\n: usage "u8);
        if (at < 0)
        {
            await client.WriteAsync(events, cancellationToken).ConfigureAwait(false);
            return;
        }

        var start = at == 0 ? 0 : at + EventEnd.Length;
        var length = span[start..].IndexOf(EventEnd);
        var json = span.Slice(start + UsageCommentPrefix.Length, length - UsageCommentPrefix.Length);
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(json.ToArray());
            Usage = (doc.RootElement.GetProperty("prompt_tokens").GetInt32(), doc.RootElement.GetProperty("completion_tokens").GetInt32());
            FinishReason = doc.RootElement.TryGetProperty("finish_reason", out var finish) ? finish.GetString() : null;
            Timing = EngineTiming.FromJson(doc.RootElement);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            Usage = null;
        }

        await client.WriteAsync(events[..start], cancellationToken).ConfigureAwait(false);
        await client.WriteAsync(events[(start + length + EventEnd.Length)..], cancellationToken).ConfigureAwait(false);
    }

    // A chat delta or completion chunk with non-empty text.
    private static bool CarriesText(ReadOnlySpan<byte> events) =>
        HasNonEmpty(events, "\"content\":\""u8) || HasNonEmpty(events, "\"text\":\""u8);

    private static bool HasNonEmpty(ReadOnlySpan<byte> events, ReadOnlySpan<byte> field)
    {
        while (true)
        {
            var at = events.IndexOf(field);
            if (at < 0)
            {
                return false;
            }

            events = events[(at + field.Length)..];
            if (events.Length > 0 && events[0] != (byte)'"')
            {
                return true;
            }
        }
    }

    private static bool LastEventStartsWith(ReadOnlySpan<byte> events, ReadOnlySpan<byte> prefix)
    {
        var body = events[..^EventEnd.Length];
        var start = body.LastIndexOf(EventEnd);
        var last = start < 0 ? body : body[(start + EventEnd.Length)..];
        return last.StartsWith(prefix);
    }
}
