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
}
