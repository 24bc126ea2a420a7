using Enclave.Security.Limits;
using Enclave.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Enclave.Tests.Security.Limits;

public sealed class LimitsServiceCollectionExtensionsTests
{
    [Fact]
    public void AddKeyLimits_CalledTwiceWithDatabase_ResolvesOneLimiter()
    {
        var services = new ServiceCollection();
        services.AddSingleton(new EnclaveDatabase(Path.Combine(Path.GetTempPath(), "enclave-limits-" + Guid.NewGuid().ToString("N"))));

        services.AddKeyLimits().AddKeyLimits();
        using var provider = services.BuildServiceProvider();

        Assert.Single(services, d => d.ServiceType == typeof(KeyLimiter));
        Assert.Same(provider.GetRequiredService<KeyLimiter>(), provider.GetRequiredService<KeyLimiter>());
        Assert.Same(TimeProvider.System, provider.GetRequiredService<TimeProvider>());
    }

    [Fact]
    public void AddKeyLimits_WithoutDatabase_ThrowsWithFix()
    {
        using var provider = new ServiceCollection().AddKeyLimits().BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(provider.GetRequiredService<KeyLimiter>);
        Assert.Contains("AddEnclaveSecurity", error.Message, StringComparison.Ordinal);
    }
}
