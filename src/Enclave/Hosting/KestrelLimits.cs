using Enclave.Api;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Enclave.Hosting;

/// <summary>
/// Applies the connection-level limits of <see cref="ApiLimits"/> to Kestrel: request limits (rejected before the
/// app runs), and the response side (minimum data rate, response buffer, socket send buffer) that bounds what a slow
/// reader can make the gateway hold.
/// </summary>
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
        k.MinResponseDataRate = limits.MinResponseBytesPerSecond > 0
            ? new MinDataRate(limits.MinResponseBytesPerSecond, TimeSpan.FromSeconds(limits.MinResponseGraceSeconds))
            : null;
        k.MaxResponseBufferSize = limits.MaxResponseBufferBytes;
        if (limits.SocketSendBufferBytes > 0)
        {
            var sendBuffer = limits.SocketSendBufferBytes;
            kestrel.ConfigureEndpointDefaults(listen => listen.Use(next => connection =>
            {
                if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
                {
                    socket.SendBufferSize = sendBuffer;
                }

                return next(connection);
            }));
        }

        k.Http2.MaxStreamsPerConnection = limits.MaxHttp2StreamsPerConnection;
        k.MaxConcurrentConnections = limits.MaxConcurrentConnections;
        k.MaxConcurrentUpgradedConnections = limits.MaxConcurrentConnections;
    }
}
