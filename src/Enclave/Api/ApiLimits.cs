using System.ComponentModel.DataAnnotations;

namespace Enclave.Api;

/// <summary>
/// Bounds on what one request may ask for, and the Kestrel connection limits that guard the gateway. Bound from
/// the <c>Limits</c> section and validated at start-up; the defaults are the safe values of RELIABILITY G3.
/// </summary>
public sealed class ApiLimits
{
    /// <summary>Largest request body (Kestrel MaxRequestBodySize); larger bodies get 413 before they are read.</summary>
    [Range(1024, 1L << 31)]
    public long MaxBodyBytes { get; set; } = 8L << 20;

    /// <summary>Deepest JSON nesting accepted; deeper bodies get 400 invalid_json without recursion.</summary>
    [Range(4, 256)]
    public int MaxJsonDepth { get; set; } = 64;

    [Range(1, 100_000)]
    public int MaxMessages { get; set; } = 2048;

    [Range(1, 64)]
    public int MaxStopSequences { get; set; } = 4;

    [Range(1, 4096)]
    public int MaxStopLength { get; set; } = 256;

    [Range(1, 10_000)]
    public int MaxEmbeddingInputs { get; set; } = 256;

    /// <summary>Longest accepted <c>model</c> name in characters.</summary>
    [Range(1, 4096)]
    public int MaxModelNameLength { get; set; } = 256;

    /// <summary>Most entries in <c>tools</c> (tool calling itself is not supported yet: only an empty array passes).</summary>
    [Range(0, 10_000)]
    public int MaxTools { get; set; } = 128;

    /// <summary>Cap on <c>max_tokens</c>; a request also may not ask for more than the context left after its prompt.</summary>
    [Range(1, 1_048_576)]
    public int MaxCompletionTokens { get; set; } = 32_768;

    /// <summary>Cap on <c>top_logprobs</c> (log probabilities are not returned yet; any non-zero value is refused).</summary>
    [Range(0, 100)]
    public int MaxTopLogprobs { get; set; } = 20;

    /// <summary>
    /// Bytes of UTF-8 text assumed per token at most, for the pre-check that refuses oversized prompts without
    /// tokenizing them. The worker uses the larger of this and the model's longest vocabulary piece.
    /// </summary>
    [Range(4, 4096)]
    public int MaxBytesPerToken { get; set; } = 32;

    /// <summary>Kestrel MaxRequestHeaderCount.</summary>
    [Range(8, 1000)]
    public int MaxRequestHeaderCount { get; set; } = 100;

    /// <summary>Kestrel MaxRequestHeadersTotalSize in bytes.</summary>
    [Range(1024, 1 << 20)]
    public int MaxRequestHeadersTotalBytes { get; set; } = 32 * 1024;

    /// <summary>Kestrel MaxRequestLineSize in bytes (method, target and version).</summary>
    [Range(256, 1 << 20)]
    public int MaxRequestLineBytes { get; set; } = 8 * 1024;

    /// <summary>Kestrel RequestHeadersTimeout: slow-header (slowloris) connections are closed after it.</summary>
    [Range(1, 600)]
    public int RequestHeadersTimeoutSeconds { get; set; } = 10;

    /// <summary>Kestrel MinRequestBodyDataRate in bytes per second (0 turns the check off).</summary>
    [Range(0, 1_000_000)]
    public double MinRequestBodyBytesPerSecond { get; set; } = 240;

    /// <summary>Grace period before the minimum body data rate is enforced.</summary>
    [Range(1, 600)]
    public int MinRequestBodyGraceSeconds { get; set; } = 5;

    /// <summary>
    /// Slowest a client may accept a response, in bytes per second (Kestrel MinResponseDataRate; 0 turns the check
    /// off). Streams are held to it per write as well: each event must be accepted within
    /// max(<see cref="MinResponseGraceSeconds"/>, its bytes / this rate) once the buffers are full, or the connection
    /// is aborted and the generation cancelled (see <see cref="SlowReaderGuard"/>).
    /// </summary>
    [Range(0, 1_000_000)]
    public double MinResponseBytesPerSecond { get; set; } = 240;

    /// <summary>Grace period of the minimum response data rate.</summary>
    [Range(1, 600)]
    public int MinResponseGraceSeconds { get; set; } = 5;

    /// <summary>
    /// Kestrel MaxResponseBufferSize: response bytes held per connection before a write waits for the client. With
    /// the relays awaiting every write, this bounds what the gateway buffers for a stream its client reads slowly.
    /// </summary>
    [Range(4096, 1 << 20)]
    public long MaxResponseBufferBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Kernel send buffer of each client connection (SO_SNDBUF; Linux doubles it). Fixed, because the kernel
    /// otherwise grows the send buffer of a reader that falls behind towards <c>net.ipv4.tcp_wmem</c>'s maximum
    /// (4 MiB by default), which holds a whole long generation, so the minimum data rate would never bite. 0 leaves
    /// the kernel's autotuning on. With the defaults a stream holds at most about 64 KiB + 2 × 64 KiB.
    /// </summary>
    [Range(0, 16 << 20)]
    public int SocketSendBufferBytes { get; set; } = 64 * 1024;

    /// <summary>Kestrel Http2 MaxStreamsPerConnection.</summary>
    [Range(1, 10_000)]
    public int MaxHttp2StreamsPerConnection { get; set; } = 100;

    /// <summary>Kestrel MaxConcurrentConnections.</summary>
    [Range(1, 1_000_000)]
    public long MaxConcurrentConnections { get; set; } = 4096;
}
