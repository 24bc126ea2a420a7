using System.Globalization;
using System.Text.RegularExpressions;

namespace Enclave.Tests.Backends.Remote;

/// <summary>How the cut-short stream of <see cref="FaultSpec.CutAfterTokens"/> ends.</summary>
public enum CutMode
{
    /// <summary>The connection is reset (TCP RST) with no end of the chunked body: a crashed upstream.</summary>
    Reset,

    /// <summary>The body ends properly, but without a finish_reason and without <c>[DONE]</c>: a truncated success.</summary>
    CleanEnd,
}

/// <summary>
/// What <see cref="FaultUpstream"/> does with one request for a model. Immutable. <see cref="Parse"/> turns the
/// catalogue's model names into specs, so a test can name the fault in the request's <c>model</c>:
/// <list type="table">
/// <item><term><c>ok</c> (or any other name)</term><description>healthy, no delay</description></item>
/// <item><term><c>f1-429-retry-after-{s}</c></term><description>first request 429 with <c>Retry-After: s</c>, then healthy</description></item>
/// <item><term><c>f2-429</c></term><description>429 without <c>Retry-After</c>, always</description></item>
/// <item><term><c>f3-500-once</c></term><description>first request 500, then healthy</description></item>
/// <item><term><c>f4-503</c></term><description>503 always</description></item>
/// <item><term><c>f5-rst</c>, <c>f5-rst-once</c></term><description>TCP RST before any header, always or once</description></item>
/// <item><term><c>f6-hang</c></term><description>accepts the request and never answers</description></item>
/// <item><term><c>f7-ttft-{ms}</c></term><description>headers at once, first event after ms</description></item>
/// <item><term><c>f8-cut-after-{n}</c>, <c>f8-end-after-{n}</c></term><description>n tokens, then RST, or a clean end without finish and <c>[DONE]</c></description></item>
/// <item><term><c>f9-stall-after-{n}-for-{ms}</c></term><description>n tokens, silence for ms, then the rest</description></item>
/// <item><term><c>f10-bad-json-at-{n}</c></term><description>the n-th event (1-based, the role chunk is 1) is not JSON</description></item>
/// <item><term><c>f11-no-done</c></term><description>a full stream with finish_reason (and usage when asked), closed without <c>[DONE]</c></description></item>
/// <item><term><c>f12-context-length</c></term><description>400 <c>context_length_exceeded</c></description></item>
/// <item><term><c>f13-huge-error</c></term><description>400 whose JSON error body is 100 MB long, streamed</description></item>
/// <item><term><c>flaky-503-every-{n}</c></term><description>503 for the 1st, (n+1)-th, ... request, healthy otherwise</description></item>
/// <item><term><c>slow-ttft-{ms}-itl-{ms}</c></term><description>healthy, with a first-token delay and inter-token latency</description></item>
/// <item><term><c>no-usage</c></term><description>healthy, but never reports usage (even when asked)</description></item>
/// </list>
/// </summary>
public sealed partial record FaultSpec
{
    public static FaultSpec Ok { get; } = new();

    /// <summary>Status of the error answer (429, 500, 503, 400, ...); null for a healthy answer.</summary>
    public int? ErrorStatus { get; init; }

    public string ErrorType { get; init; } = "server_error";

    public string? ErrorCode { get; init; }

    public string? ErrorParam { get; init; }

    public string ErrorMessage { get; init; } = "The wall refused this request.";

    /// <summary>Sent as <c>Retry-After</c> (seconds) with the error answer.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>How many of the model's first requests get the fault; the rest are healthy. Default: all.</summary>
    public int FaultyRequests { get; init; } = int.MaxValue;

    /// <summary>When set, only every n-th request of the model (the 1st, the (n+1)-th, ...) gets the fault.</summary>
    public int? FaultPeriod { get; init; }

    /// <summary>Reset the connection before any header.</summary>
    public bool ResetBeforeHeaders { get; init; }

    /// <summary>Accept the request and never send a byte.</summary>
    public bool NeverAnswer { get; init; }

    /// <summary>Delay before the first event (streams; headers go at once) or before the whole answer.</summary>
    public int FirstTokenDelayMs { get; init; }

    public int InterTokenDelayMs { get; init; }

    public int? CutAfterTokens { get; init; }

    public CutMode CutMode { get; init; } = CutMode.Reset;

    public int? StallAfterTokens { get; init; }

    public int StallMs { get; init; }

    /// <summary>1-based index of the event (the role chunk is event 1) sent as invalid JSON.</summary>
    public int? BadJsonAtEvent { get; init; }

    /// <summary>End a complete stream without <c>data: [DONE]</c>.</summary>
    public bool OmitDone { get; init; }

    /// <summary>Never report usage, even when <c>stream_options.include_usage</c> asks.</summary>
    public bool OmitUsage { get; init; }

    /// <summary>Length of an error body that is streamed and never finished by its own end (the client must stop reading).</summary>
    public long? HugeErrorBytes { get; init; }

    public static FaultSpec Parse(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (Match(F1(), model) is { } f1)
        {
            return RateLimited(f1[0], 1);
        }

        if (Match(F7(), model) is { } f7)
        {
            return new FaultSpec { FirstTokenDelayMs = f7[0] };
        }

        if (Match(F8(), model) is { } f8)
        {
            return new FaultSpec { CutAfterTokens = f8[0], CutMode = model.Contains("-end-", StringComparison.Ordinal) ? CutMode.CleanEnd : CutMode.Reset };
        }

        if (Match(F9(), model) is { } f9)
        {
            return new FaultSpec { StallAfterTokens = f9[0], StallMs = f9[1] };
        }

        if (Match(F10(), model) is { } f10)
        {
            return new FaultSpec { BadJsonAtEvent = f10[0] };
        }

        if (Match(Flaky(), model) is { } flaky)
        {
            return new FaultSpec { ErrorStatus = 503, ErrorMessage = "Flaky upstream.", FaultPeriod = flaky[0] };
        }

        if (Match(Slow(), model) is { } slow)
        {
            return new FaultSpec { FirstTokenDelayMs = slow[0], InterTokenDelayMs = slow[1] };
        }

        return model switch
        {
            "f2-429" => RateLimited(null, int.MaxValue),
            "f3-500-once" => new FaultSpec { ErrorStatus = 500, FaultyRequests = 1, ErrorMessage = "The server had an error while processing your request." },
            "f4-503" => new FaultSpec { ErrorStatus = 503, ErrorMessage = "The engine is currently overloaded, please try again later." },
            "f5-rst" => new FaultSpec { ResetBeforeHeaders = true },
            "f5-rst-once" => new FaultSpec { ResetBeforeHeaders = true, FaultyRequests = 1 },
            "f6-hang" => new FaultSpec { NeverAnswer = true },
            "f11-no-done" => new FaultSpec { OmitDone = true },
            "f12-context-length" => ContextLengthExceeded,
            "f13-huge-error" => new FaultSpec { ErrorStatus = 400, ErrorType = "invalid_request_error", HugeErrorBytes = 100L * 1024 * 1024 },
            "no-usage" => new FaultSpec { OmitUsage = true },
            _ => Ok,
        };
    }

    public static FaultSpec ContextLengthExceeded { get; } = new()
    {
        ErrorStatus = 400,
        ErrorType = "invalid_request_error",
        ErrorCode = "context_length_exceeded",
        ErrorParam = "messages",
        ErrorMessage = "This model's maximum context length is 4096 tokens. However, your messages resulted in 5021 tokens. Please reduce the length of the messages.",
    };

    public static FaultSpec RateLimited(int? retryAfterSeconds, int faultyRequests) => new()
    {
        ErrorStatus = 429,
        ErrorType = "requests",
        ErrorCode = "rate_limit_exceeded",
        ErrorMessage = "Rate limit reached for requests.",
        RetryAfterSeconds = retryAfterSeconds,
        FaultyRequests = faultyRequests,
    };

    private static int[]? Match(Regex regex, string model)
    {
        var m = regex.Match(model);
        return m.Success ? m.Groups.Values.Skip(1).Where(g => g.Success && g.Value.All(char.IsAsciiDigit)).Select(g => int.Parse(g.Value, CultureInfo.InvariantCulture)).ToArray() : null;
    }

    [GeneratedRegex(@"^f1-429-retry-after-(\d+)$")]
    private static partial Regex F1();

    [GeneratedRegex(@"^f7-ttft-(\d+)$")]
    private static partial Regex F7();

    [GeneratedRegex(@"^f8-(cut|end)-after-(\d+)$")]
    private static partial Regex F8();

    [GeneratedRegex(@"^f9-stall-after-(\d+)-for-(\d+)$")]
    private static partial Regex F9();

    [GeneratedRegex(@"^f10-bad-json-at-(\d+)$")]
    private static partial Regex F10();

    [GeneratedRegex(@"^flaky-503-every-(\d+)$")]
    private static partial Regex Flaky();

    [GeneratedRegex(@"^slow-ttft-(\d+)-itl-(\d+)$")]
    private static partial Regex Slow();
}
