using Enclave.Api;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Enclave.Hosting;

/// <summary>Applies the connection-level limits of <see cref="ApiLimits"/> to Kestrel (rejected before the app runs).</summary>
public static class KestrelLimits
{
    public static void Apply(KestrelServerOptions kestrel, ApiLimits limits)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(limits);
        var k = kestrel.Limits;
        k.MaxRequestBodySize = limits.MaxBodyBytes;
        k.MaxRequestHeaderCount = limits.MaxRequestHeaderCount;
        k.MaxRequestHeadersTotalSize = limits.MaxRequestHeadersTotalBytes;
        k.MaxRequestLineSize = limits.MaxRequestLineBytes;
        k.RequestHeadersTimeout = TimeSpan.FromSeconds(limits.RequestHeadersTimeoutSeconds);
        k.MinRequestBodyDataRate = limits.MinRequestBodyBytesPerSecond > 0
            ? new MinDataRate(limits.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(limits.MinRequestBodyGraceSeconds))
            : null;
        k.Http2.MaxStreamsPerConnection = limits.MaxHttp2StreamsPerConnection;
        k.MaxConcurrentConnections = limits.MaxConcurrentConnections;
        k.MaxConcurrentUpgradedConnections = limits.MaxConcurrentConnections;
    }
}
