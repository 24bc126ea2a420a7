using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Security.Auth;

public sealed class TlsTests
{
    [Fact]
    public async Task Serve_HttpsWithPemCertificate_ServesTlsWithThatCertificate()
    {
        var dir = Directory.CreateTempSubdirectory("enclave-tls-").FullName;
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=enclave-test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.Parse("2036-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await File.WriteAllTextAsync(Path.Combine(dir, "cert.pem"), certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(dir, "key.pem"), rsa.ExportPkcs8PrivateKeyPem());
        var port = GatewayProcess.FreeTcpPort();

        await using var gateway = await GatewayProcess.StartAsync(
            [],
            new Dictionary<string, string>
            {
                ["ENCLAVE__Server__Tls__CertificatePath"] = Path.Combine(dir, "cert.pem"),
                ["ENCLAVE__Server__Tls__KeyPath"] = Path.Combine(dir, "key.pem"),
            },
            waitReady: false,
            urls: $"https://127.0.0.1:{port}");

        string? seenThumbprint = null;
        using var http = new HttpClient(new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                seenThumbprint = cert?.Thumbprint;
                return cert?.Thumbprint == certificate.Thumbprint;
            },
        }) { BaseAddress = new Uri($"https://127.0.0.1:{port}") };
        HttpStatusCode? status = null;
        for (var i = 0; i < 100 && status != HttpStatusCode.OK; i++)
        {
            await Task.Delay(100);
            try
            {
                status = (await http.GetAsync("/healthz")).StatusCode;
            }
            catch (HttpRequestException)
            {
                Assert.False(gateway.HasExited, gateway.Output);
            }
        }

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(certificate.Thumbprint, seenThumbprint);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task Serve_HttpsWithoutCertificate_RefusesToStart()
    {
        await using var gateway = await GatewayProcess.StartAsync([], waitReady: false, urls: $"https://127.0.0.1:{GatewayProcess.FreeTcpPort()}");

        Assert.Equal(2, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Server:Tls:CertificatePath", gateway.Output);
    }
}
