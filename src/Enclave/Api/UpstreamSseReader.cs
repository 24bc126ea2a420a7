using System.Buffers;

namespace Enclave.Api;

/// <summary>
/// Reads server-sent events from an upstream body: <c>data:</c> lines joined per event, comments and other fields
/// skipped, LF or CRLF line ends. An event larger than the cap fails with <see cref="InvalidDataException"/>, so a
/// hostile upstream cannot grow the gateway's memory. Not thread-safe; one per stream.
/// </summary>
public sealed class UpstreamSseReader(Stream stream, int maxEventBytes = 4 * 1024 * 1024) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _start;
    private int _end;
    private readonly ArrayBufferWriter<byte> _data = new();
    private bool _hasData;

    /// <summary>The next event's data, or null at the end of the body.</summary>
    public async ValueTask<byte[]?> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                var line = _buffer.AsSpan(_start, newline - _start);
                _start = newline + 1;
                if (line.Length > 0 && line[^1] == (byte)'\r')
                {
                    line = line[..^1];
                }

                if (line.IsEmpty)
                {
                    if (_hasData)
                    {
                        return TakeEvent();
                    }

                    continue;
                }

                if (line.StartsWith("data:"u8))
                {
                    var value = line[5..];
                    if (value.Length > 0 && value[0] == (byte)' ')
                    {
                        value = value[1..];
                    }

                    if (_hasData)
                    {
                        _data.Write("\n"u8);
                    }

                    if (_data.WrittenCount + value.Length > maxEventBytes)
                    {
                        throw new InvalidDataException($"An upstream event is larger than {maxEventBytes} bytes.");
                    }

                    _data.Write(value);
                    _hasData = true;
                }

                continue;
            }

            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                if (_buffer.Length >= maxEventBytes)
                {
                    throw new InvalidDataException($"An upstream line is longer than {maxEventBytes} bytes.");
                }

                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(maxEventBytes, _buffer.Length * 2));
                Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }

            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                // A last event without its blank line still counts.
                return _hasData ? TakeEvent() : null;
            }

            _end += read;
        }
    }

    private byte[] TakeEvent()
    {
        var data = _data.WrittenSpan.ToArray();
        _data.ResetWrittenCount();
        _hasData = false;
        return data;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}
