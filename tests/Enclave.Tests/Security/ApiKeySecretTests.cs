using Enclave.Security.Keys;

namespace Enclave.Tests.Security;

public sealed class ApiKeySecretTests
{
    private const string ValidSecret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    [Fact]
    public void TryParse_CanonicalKey_SplitsIdAndSecret()
    {
        Assert.True(ApiKeySecret.TryParse("enc_abcdefghij12_" + ValidSecret, out var id, out var secret));

        Assert.Equal("abcdefghij12", id);
        Assert.Equal(new byte[32], secret);
    }

    [Fact]
    public void Format_NewKey_ParsesBack()
    {
        var id = ApiKeySecret.NewId();
        var secret = ApiKeySecret.NewSecret();

        Assert.True(ApiKeySecret.TryParse(ApiKeySecret.Format(id, secret), out var parsedId, out var parsedSecret));
        Assert.Equal(id, parsedId);
        Assert.Equal(secret, parsedSecret);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("enc_")]
    [InlineData("sk-abcdefghijklmnopqrstuvwxyz")]
    [InlineData("enc_abcdefghijk_" + ValidSecret)]
    [InlineData("enc_abcdefghij123_" + ValidSecret)]
    [InlineData("enc_ABCDEFGHIJ12_" + ValidSecret)]
    [InlineData("enc_abcdefghij-2_" + ValidSecret)]
    [InlineData("enc_abcdefghij12-" + ValidSecret)]
    [InlineData("ENC_abcdefghij12_" + ValidSecret)]
    [InlineData("enc_abcdefghij12_" + ValidSecret + "=")]
    [InlineData("enc_abcdefghij12_" + ValidSecret + "A")]
    [InlineData("enc_abcdefghij12_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("enc_abcdefghij12_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")]
    [InlineData("enc_abcdefghij12_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+A")]
    [InlineData("enc_abcdefghij12_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/A")]
    [InlineData(" enc_abcdefghij12_" + ValidSecret)]
    [InlineData("enc_abcdefghij12_" + ValidSecret + " ")]
    public void TryParse_NotCanonical_ReturnsFalse(string? presented)
    {
        Assert.False(ApiKeySecret.TryParse(presented, out _, out _));
    }
}
