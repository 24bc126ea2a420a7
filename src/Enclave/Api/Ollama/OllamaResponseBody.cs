using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace Enclave.Api.Ollama;

/// <summary>
/// Stands in for the response body while the OpenAI pipeline answers an Ollama request, and translates what the
/// pipeline writes (see <see cref="OllamaResponseTranslator"/>). For a streaming client, NDJSON lines go out as the
/// SSE events arrive and the response starts when the pipeline starts it, with the Content-Type changed to
/// <c>application/x-ndjson</c>. Otherwise nothing reaches the client until <see cref="FinishAsync"/>, which picks the
/// status from the outcome and writes one JSON object. One per request, used by the request's own flow only; not
/// thread-safe.
/// </summary>
internal sealed class OllamaResponseBody : Stream, IHttpResponseBodyFeature
{
    private readonly HttpContext _context;
    private readonly IHttpResponseBodyFeature _inner;
    private readonly OllamaResponseTranslator _translator;
    private readonly bool _stream;
    private readonly ArrayBufferWriter<byte> _out = new(4096);
    private Mode _mode;
    private PipeWriter? _writer;
    private bool _finished;

    private OllamaResponseBody(HttpContext context, IHttpResponseBodyFeature inner, OllamaResponseTranslator translator, bool stream)
    {
        _context = context;
        _inner = inner;
        _translator = translator;
        _stream = stream;
    }

    private enum Mode
    {
        Unknown,
        EventStream,
        Whole,
    }

    /// <summary>Replaces the request's response body feature; <see cref="Uninstall"/> puts the original back.</summary>
    public static OllamaResponseBody Install(HttpContext context, OllamaResponseTranslator translator, bool stream)
    {
        ArgumentNullException.ThrowIfNull(context);
        var inner = context.Features.Get<IHttpResponseBodyFeature>() ?? throw new InvalidOperationException("The server provides no response body feature.");
        var body = new OllamaResponseBody(context, inner, translator, stream);
        context.Features.Set<IHttpResponseBodyFeature>(body);
        return body;
    }

    public void Uninstall() => _context.Features.Set(_inner);

    Stream IHttpResponseBodyFeature.Stream => this;

    public PipeWriter Writer => _writer ??= PipeWriter.Create(this, new StreamPipeWriterOptions(leaveOpen: true));

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    private bool IsEventStream => _context.Response.ContentType?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) == true;

    public void DisableBuffering() => _inner.DisableBuffering();

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        _translator.OnStarted(Stopwatch.GetTimestamp());
        DecideMode();
        if (_stream && _mode == Mode.EventStream && !_context.Response.HasStarted)
        {
            _context.Response.ContentType = OllamaWire.NdjsonContentType;
            await _inner.StartAsync(cancellationToken);
        }

        // Otherwise the answer is whole: its status is known only at the end, so the response starts in FinishAsync.
    }

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        SendFileFallback.SendFileAsync(this, path, offset, count, cancellationToken);

    public async Task CompleteAsync()
    {
        await FinishAsync(_context.RequestAborted);
        await _inner.CompleteAsync();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        DecideMode();
        if (_mode == Mode.Whole)
        {
            _out.Write(buffer.Span);
            return;
        }

        _translator.AppendSse(buffer.Span, _out);
        if (_stream && _out.WrittenCount > 0)
        {
            await StartAsync(cancellationToken);
            await _inner.Stream.WriteAsync(_out.WrittenMemory, cancellationToken);
            _out.ResetWrittenCount();
        }
    }

    // Decided from the pipeline's Content-Type before the first byte, and before it is changed to NDJSON.
    private void DecideMode()
    {
        if (_mode == Mode.Unknown)
        {
            _mode = IsEventStream ? Mode.EventStream : Mode.Whole;
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _context.Response.HasStarted ? _inner.Stream.FlushAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>
    /// Ends the translation: for a client that did not stream (or an answer that never became a stream), writes the
    /// status and the one JSON object. A streamed answer has already sent its lines. Safe to call more than once.
    /// </summary>
    public async Task FinishAsync(CancellationToken cancellationToken)
    {
        if (_finished || _context.Response.HasStarted)
        {
            _finished = true;
            return;
        }

        _finished = true;
        (int Status, byte[] Body)? whole = _mode switch
        {
            Mode.EventStream => _translator.WholeFromStream(),
            Mode.Whole => _translator.TranslateJson(_context.Response.StatusCode, _out.WrittenSpan),
            _ => null,
        };
        if (whole is not { } answer)
        {
            return;
        }

        var response = _context.Response;
        response.StatusCode = answer.Status;
        response.ContentType = OllamaWire.JsonContentType;
        response.Headers.CacheControl = default;
        response.Headers.Remove("X-Accel-Buffering");
        response.ContentLength = answer.Body.Length;
        await _inner.Stream.WriteAsync(answer.Body, cancellationToken);
    }

    public override void Flush()
    {
        // Writes are asynchronous only (as Kestrel requires); a synchronous flush has nothing buffered to push.
    }

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Synchronous writes are not supported; write asynchronously.");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
