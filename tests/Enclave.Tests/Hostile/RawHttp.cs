using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Enclave.Tests.Hostile;

/// <summary>Speaks HTTP/1.1 by hand over a TcpClient, for requests no well-behaved client library will send.</summary>
internal sealed class RawHttp : IDisposable
{
    private readonly TcpClient _client = new() { NoDelay = true };
    private NetworkStream _stream = null!;

    public static async Task<RawHttp> ConnectAsync(Uri baseUrl)
    {
        var raw = new RawHttp();
        await raw._client.ConnectAsync(baseUrl.Host, baseUrl.Port);
        raw._stream = raw._client.GetStream();
        return raw;
    }

    /// <summary>Writes bytes; false when the server has already closed or reset the connection.</summary>
    public async Task<bool> TrySendAsync(byte[] bytes)
    {
        try
        {
            await _stream.WriteAsync(bytes);
            await _stream.FlushAsync();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public Task<bool> TrySendAsync(string text) => TrySendAsync(Encoding.Latin1.GetBytes(text));

    /// <summary>Reads until the server closes the connection, the response is complete, or <paramref name="timeout"/> passes.</summary>
    public async Task<RawResponse> ReadResponseAsync(TimeSpan timeout, bool untilClosed = false)
    {
        var watch = Stopwatch.StartNew();
        using var cts = new CancellationTokenSource(timeout);
        var data = new MemoryStream();
        var buffer = new byte[16 * 1024];
        var closed = false;
        try
        {
            while (true)
            {
                var n = await _stream.ReadAsync(buffer, cts.Token);
                if (n == 0)
                {
                    closed = true;
                    break;
                }

                data.Write(buffer, 0, n);
                if (!untilClosed && IsComplete(data.ToArray()))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
            closed = true;
        }

        var text = Encoding.Latin1.GetString(data.ToArray());
        var status = text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && text.Length >= 12 ? int.Parse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture) : 0;
        return new RawResponse(status, text, closed, watch.Elapsed);
    }

    public void Dispose()
    {
        _stream?.Dispose();
        _client.Dispose();
    }

    // Complete when the headers have ended and Content-Length bytes of body followed (or no body is declared).
    private static bool IsComplete(byte[] bytes)
    {
        var text = Encoding.Latin1.GetString(bytes);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        var headers = text[..end];
        foreach (var line in headers.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return bytes.Length - (end + 4) >= int.Parse(line.AsSpan(15).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return !headers.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase) || text.EndsWith("0\r\n\r\n", StringComparison.Ordinal);
    }
}

/// <summary>What came back on a raw connection: the status (0 when none), the text, and whether the server closed it.</summary>
internal sealed record RawResponse(int Status, string Text, bool Closed, TimeSpan Elapsed);
