using Enclave.Backends;
using Enclave.Security.Audit;
using Enclave.Security.Limits;
using Microsoft.Extensions.Options;

namespace Enclave.Api;

/// <summary>What the forwarding handlers need, bound once per request by the endpoint.</summary>
public sealed record ForwardServices(LocalModels Models, IOptions<ApiLimits> Limits, ILoggerFactory Loggers, KeyLimiter Limiter, IAuditLog Audit, Ledger.LedgerWriter Ledger, TimeProvider Time, Telemetry.GatewayTelemetry Telemetry, ModelRouter Router, IOptions<RoutingOptions> Routing);
