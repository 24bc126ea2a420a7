using System.ComponentModel.DataAnnotations;

namespace Enclave.Hosting;

/// <summary>The <c>Server</c> section: where the gateway listens and keeps its data.</summary>
public sealed class ServerOptions
{
    public const string DefaultUrls = "http://127.0.0.1:8400";

    /// <summary>Semicolon-separated listen URLs.</summary>
    [Required]
    public string Urls { get; set; } = DefaultUrls;

    /// <summary>Certificate for https:// addresses.</summary>
    public TlsOptions Tls { get; set; } = new();

    /// <summary>Database, models and audit checkpoints; resolved by <see cref="EnclaveConfiguration"/>.</summary>
    public string DataDir { get; set; } = "";

    /// <summary>
    /// On SIGTERM, how long running requests may continue while new ones get 503; those still running then end with
    /// a <c>server_shutting_down</c> error (see <see cref="GracefulShutdown"/>). 0 ends them at once.
    /// </summary>
    [Range(0, 3600)]
    public int ShutdownTimeoutSeconds { get; set; } = 30;
}
