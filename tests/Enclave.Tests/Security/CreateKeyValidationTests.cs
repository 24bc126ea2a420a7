using Enclave.Security.Keys;
using Microsoft.Extensions.Time.Testing;

namespace Enclave.Tests.Security;

public sealed class CreateKeyValidationTests : IDisposable
{
    private readonly SecurityTestDirectory _dir = new();
    private readonly SqliteApiKeyStore _store;

    public CreateKeyValidationTests() => _store = new SqliteApiKeyStore(_dir.Database, new FakeTimeProvider());

    public void Dispose() => _dir.Dispose();

    public static TheoryData<CreateKeyRequest, string> Invalid => new()
    {
        { new CreateKeyRequest { Name = "" }, "name" },
        { new CreateKeyRequest { Name = "   " }, "name" },
        { new CreateKeyRequest { Name = new string('a', 129) }, "name" },
        { new CreateKeyRequest { Name = "bad\nname" }, "printable" },
        { new CreateKeyRequest { Name = "evil\u202Ename" }, "printable" },
        { new CreateKeyRequest { Name = "ok", Scopes = ["inference", "root"] }, "'root'" },
        { new CreateKeyRequest { Name = "ok", Scopes = [] }, "scope" },
        { new CreateKeyRequest { Name = "ok", Models = [] }, "glob" },
        { new CreateKeyRequest { Name = "ok", Models = [""] }, "glob" },
        { new CreateKeyRequest { Name = "ok", Models = ["chat model"] }, "glob" },
        { new CreateKeyRequest { Name = "ok", RequestsPerMinute = 0 }, "--rpm" },
        { new CreateKeyRequest { Name = "ok", TokensPerMinute = -1 }, "--tpm" },
        { new CreateKeyRequest { Name = "ok", Concurrency = 0 }, "--concurrency" },
        { new CreateKeyRequest { Name = "ok", TokenBudget = 0, BudgetPeriod = BudgetPeriod.Day }, "--token-budget" },
        { new CreateKeyRequest { Name = "ok", TokenBudget = 100 }, "--budget-period" },
        { new CreateKeyRequest { Name = "ok", BudgetPeriod = BudgetPeriod.Month }, "--token-budget" },
        { new CreateKeyRequest { Name = "ok", ExpiresAfter = TimeSpan.Zero }, "positive" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task CreateAsync_InvalidRequest_ThrowsArgumentExceptionNamingTheProblem(CreateKeyRequest request, string mentions)
    {
        var error = await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.CreateAsync(request, default));

        Assert.Contains(mentions, error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(await _store.AnyAsync(default));
    }

    [Fact]
    public async Task CreateAsync_DuplicateScopesAndGlobs_AreStoredOnce()
    {
        var issued = await _store.CreateAsync(new CreateKeyRequest { Name = "ok", Scopes = ["models", "models"], Models = ["a", "a", "b"] }, default);

        Assert.Equal(["models"], issued.Key.Scopes);
        Assert.Equal(["a", "b"], issued.Key.Models);
    }

    [Fact]
    public async Task CreateAsync_Name128Unicode_Accepted()
    {
        var issued = await _store.CreateAsync(new CreateKeyRequest { Name = new string('é', 128) }, default);

        Assert.Equal(128, issued.Key.Name.Length);
    }
}
