using System.Text;

namespace Enclave.Tests.Hostile;

/// <summary>
/// The connection-level rows of RELIABILITY §5 (1–9, 12, 72), sent by hand over raw sockets: the right status or
/// a closed connection, in time, nothing smuggled, and the gateway still healthy afterwards.
/// </summary>
[Collection(HostileGatewayGroup.Name)]
public sealed class KestrelCatalogueTests(HostileGateway fixture)
{
    private const string Body = """{"model":"chat","messages":[{"role":"user","content":"Hi"}],"max_tokens":2}""";

    [Fact]
    public async Task Row01_BodyOverCapWithContentLength_Is413BeforeBodyIsRead()
    {
        using var raw = await ConnectAsync();
        await raw.TrySendAsync($"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {9 << 20}\r\n\r\n{{\"model\":");
        var response = await raw.ReadResponseAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(413, response.Status);
        Assert.True(response.Elapsed < TimeSpan.FromMilliseconds(1000), $"took {response.Elapsed}");
        AssertAppError("1", response, "request_too_large");
        await fixture.AssertHealthyAsync();
    }

    [Fact]
    public async Task Row02_EndlessChunkedBody_Is413OnceCapIsCrossed()
    {
        using var raw = await ConnectAsync();
        await raw.TrySendAsync("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
        var chunk = Encoding.ASCII.GetBytes("10000\r\n" + new string(' ', 0x10000) + "\r\n");
        for (var sent = 0L; sent < 12L << 20; sent += 0x10000)
        {
            if (!await raw.TrySendAsync(chunk))
            {
                break;
            }
        }

        var response = await raw.ReadResponseAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(413, response.Status);
        await fixture.AssertHealthyAsync();
    }

    [Fact]
    public async Task Row03_BodyStallsAfterTenBytes_ClosedAfterMinDataRateGrace()
    {
        using var raw = await ConnectAsync();
        await raw.TrySendAsync("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\":1");
        var response = await raw.ReadResponseAsync(TimeSpan.FromSeconds(15));

        Assert.True(response.Status == 408 || (response.Status == 0 && response.Closed), $"got {response.Status} closed={response.Closed}: {response.Text}");
        Assert.True(response.Elapsed < TimeSpan.FromSeconds(15), $"took {response.Elapsed}");
        await fixture.AssertHealthyAsync();
    }

    [Fact]
    public async Task Row04_SlowlorisHeaders_ClosedAtHeadersTimeout()
    {
        using var raw = await ConnectAsync();
        await raw.TrySendAsync("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n");
        var reading = raw.ReadResponseAsync(TimeSpan.FromSeconds(15));
        for (var i = 0; i < 5 && !reading.IsCompleted; i++)
        {
            await raw.TrySendAsync("X");
            await Task.WhenAny(reading, Task.Delay(TimeSpan.FromSeconds(3)));
        }

        var response = await reading;
        Assert.True(response.Status == 408 || response.Closed, $"got {response.Status} closed={response.Closed}");
        Assert.True(response.Elapsed < TimeSpan.FromSeconds(15), $"took {response.Elapsed}");
        await fixture.AssertHealthyAsync();
    }

    [Theory]
    [InlineData("5a 200 headers", 200, 10)]
    [InlineData("5b 64 KB of headers", 8, 8 * 1024)]
    public async Task Row05_TooManyOrTooLargeHeaders_Is431(string row, int count, int size)
    {
        var headers = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            headers.Append($"X-H{i}: ").Append('v', size).Append("\r\n");
        }

        var response = await SendAsync($"GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
        Assert.True(response.Status == 431, $"row {row}: got {response.Status}");
        await fixture.AssertHealthyAsync();
    }

    [Fact]
    public async Task Row06_RequestLine16KB_Is414()
    {
        var response = await SendAsync($"GET /v1/models/{new string('a', 16 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(414, response.Status);
        await fixture.AssertHealthyAsync();
    }

    [Fact]
    public async Task Row07_ContentLengthAndChunked_NothingSmuggled()
    {
        var smuggled = "GET /admin/workers HTTP/1.1\r\nHost: x\r\n\r\n";
        var chunked = $"{Body.Length:x}\r\n{Body}\r\n0\r\n\r\n";
        var response = await SendAsync(
            $"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}{smuggled}",
            TimeSpan.FromSeconds(3), untilClosed: true);

        Assert.True(response.Status is 400 or 200, $"got {response.Status}");
        // A smuggled request would add a second response on the same connection.
        Assert.Equal(1, CountOccurrences(response.Text, "HTTP/1.1 "));
        Assert.DoesNotContain("\"workers\"", response.Text, StringComparison.Ordinal);
        await fixture.AssertHealthyAsync();
    }

    [Fact]
    public async Task Row08_ChunkExtensionWithBareLf_Is400()
    {
        var response = await SendAsync("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4;x\nABCD\r\n0\r\n\r\n");
        Assert.Equal(400, response.Status);
        await fixture.AssertHealthyAsync();
    }

    [Fact]
    public async Task Row09_TwoDifferentContentLengths_Is400()
    {
        var response = await SendAsync($"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {Body.Length}\r\nContent-Length: 3\r\n\r\n{Body}");
        Assert.Equal(400, response.Status);
        await fixture.AssertHealthyAsync();
    }

    [Fact]
    public async Task Row12_NulInAuthorization_Is400Or401()
    {
        var response = await SendAsync($"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\0b\r\nContent-Type: application/json\r\nContent-Length: {Body.Length}\r\n\r\n{Body}");
        Assert.True(response.Status is 400 or 401, $"got {response.Status}");
        await fixture.AssertHealthyAsync();
    }

    [Theory]
    [InlineData("72b double slash", "//v1/models")]
    [InlineData("72c dot segments", "/v1/../v1/nothing")]
    [InlineData("72d encoded traversal", "/v1/%2e%2e/admin/x")]
    public async Task Row72_OddPaths_Are404(string row, string path)
    {
        var response = await SendAsync($"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.True(response.Status == 404, $"row {row}: got {response.Status}: {response.Text}");
        AssertAppError(row, response, null);
        await fixture.AssertHealthyAsync();
    }

    private static void AssertAppError(string row, RawResponse response, string? code)
    {
        Assert.Contains("x-request-id:", response.Text, StringComparison.OrdinalIgnoreCase);
        var split = response.Text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var body = response.Text[(split + 4)..];
        if (response.Text[..split].Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }

        BadInputCatalogueTests.AssertNoLeak(row, body);
        var error = BadInputCatalogueTests.AssertEnvelope(row, body);
        if (code is not null)
        {
            Assert.Equal(code, error.GetProperty("code").GetString());
        }
    }

    private static string Dechunk(string chunked)
    {
        var body = new StringBuilder();
        var at = 0;
        while (true)
        {
            var eol = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[at..eol].Split(';')[0], 16);
            if (size == 0)
            {
                return body.ToString();
            }

            body.Append(chunked, eol + 2, size);
            at = eol + 2 + size + 2;
        }
    }

    private static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private Task<RawHttp> ConnectAsync() => RawHttp.ConnectAsync(fixture.Gateway.BaseUrl);

    private async Task<RawResponse> SendAsync(string request, TimeSpan? timeout = null, bool untilClosed = false)
    {
        using var raw = await ConnectAsync();
        await raw.TrySendAsync(request);
        var response = await raw.ReadResponseAsync(timeout ?? TimeSpan.FromSeconds(5), untilClosed);
        Assert.True(response.Elapsed < TimeSpan.FromSeconds(2) || timeout is not null, $"took {response.Elapsed}");
        return response;
    }
}
