using System.Security.Cryptography.X509Certificates;

namespace Enclave.Hosting;

/// <summary>
/// <c>Server:Tls</c>: the certificate for every https:// address in <c>Server:Urls</c>, from files (PEM
/// certificate and key, or a PFX with an optional password) or from a certificate store by subject.
/// </summary>
public sealed class TlsOptions
{
    /// <summary>PEM (.pem/.crt) or PKCS#12 (.pfx/.p12) file.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key, when <see cref="CertificatePath"/> is a PEM certificate without its key.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of a PFX file or an encrypted PEM key (prefer ENCLAVE__Server__Tls__Password over the file).</summary>
    public string? Password { get; set; }

    /// <summary>Subject (CN) to look up in a certificate store instead of a file.</summary>
    public string? Subject { get; set; }

    public StoreName StoreName { get; set; } = StoreName.My;

    public StoreLocation StoreLocation { get; set; } = StoreLocation.CurrentUser;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(CertificatePath) || !string.IsNullOrWhiteSpace(Subject);

    /// <summary>Loads the certificate; throws <see cref="ConfigurationException"/> naming the setting when it cannot.</summary>
    public X509Certificate2 Load()
    {
        if (!string.IsNullOrWhiteSpace(CertificatePath))
        {
            if (!File.Exists(CertificatePath))
            {
                throw new ConfigurationException($"Server:Tls:CertificatePath '{CertificatePath}' does not exist.");
            }

            try
            {
                var extension = Path.GetExtension(CertificatePath).ToLowerInvariant();
                if (extension is ".pfx" or ".p12")
                {
                    return X509CertificateLoader.LoadPkcs12FromFile(CertificatePath, Password);
                }

                var key = string.IsNullOrWhiteSpace(KeyPath) ? CertificatePath : KeyPath;
                var pem = string.IsNullOrEmpty(Password)
                    ? X509Certificate2.CreateFromPemFile(CertificatePath, key)
                    : X509Certificate2.CreateFromEncryptedPemFile(CertificatePath, Password, key);
                // Re-import so the private key is usable by the TLS stack on every platform.
                return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            }
            catch (System.Security.Cryptography.CryptographicException ex)
            {
                throw new ConfigurationException($"Server:Tls:CertificatePath '{CertificatePath}' could not be loaded ({ex.Message}). Give a PEM certificate with Server:Tls:KeyPath, or a PFX with Server:Tls:Password.", ex);
            }
        }

        using var store = new X509Store(StoreName, StoreLocation);
        store.Open(OpenFlags.ReadOnly);
        var found = store.Certificates.Find(X509FindType.FindBySubjectName, Subject!, validOnly: false)
            .Where(c => c.HasPrivateKey)
            .OrderByDescending(c => c.NotAfter)
            .FirstOrDefault();
        return found ?? throw new ConfigurationException($"Server:Tls:Subject '{Subject}' matches no certificate with a private key in {StoreLocation}/{StoreName}.");
    }
}
