using System.Text;
using System.Text.RegularExpressions;
using Enclave.Security.Keys;
using Microsoft.Extensions.Time.Testing;

namespace Enclave.Tests.Security;

public sealed partial class ApiKeyStoreTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly SecurityTestDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Start);
    private readonly SqliteApiKeyStore _store;

    public ApiKeyStoreTests() => _store = new SqliteApiKeyStore(_dir.Database, _time);

    public void Dispose() => _dir.Dispose();

    [GeneratedRegex("^enc_([a-z0-9]{12})_[A-Za-z0-9_-]{43}$")]
    private static partial Regex KeyShape();

    [Fact]
    public async Task CreateAsync_Default_IssuesWellFormedKeyThatAuthenticates()
    {
        var issued = await _store.CreateAsync(new CreateKeyRequest { Name = "ci" }, default);

        var match = KeyShape().Match(issued.Secret);
        Assert.True(match.Success, issued.Secret);
        Assert.Equal(issued.Key.Id, match.Groups[1].Value);
        var found = await _store.AuthenticateAsync(issued.Secret, default);
        Assert.NotNull(found);
        Assert.Equal(issued.Key.Id, found.Id);
        Assert.Equal(["*"], found.Models);
        Assert.Equal(Scopes.Default, found.Scopes);
        Assert.Equal(Start, found.CreatedAt);
        Assert.Null(found.ExpiresAt);
    }

    [Fact]
    public async Task CreateAsync_AllSettings_RoundTrip()
    {
        var issued = await _store.CreateAsync(new CreateKeyRequest
        {
            Name = "team α",
            Models = ["chat-*", "embed?"],
            Scopes = [Scopes.Inference, Scopes.Admin],
            RequestsPerMinute = 60,
            TokensPerMinute = 1000,
            Concurrency = 2,
            TokenBudget = 1_000_000,
            BudgetPeriod = BudgetPeriod.Month,
            ExpiresAfter = TimeSpan.FromDays(7),
        }, default);

        var stored = await _store.GetAsync(issued.Key.Id, default);

        Assert.NotNull(stored);
        Assert.Equal(issued.Key, stored with { Models = issued.Key.Models, Scopes = issued.Key.Scopes });
        Assert.Equal(["chat-*", "embed?"], stored.Models);
        Assert.Equal([Scopes.Inference, Scopes.Admin], stored.Scopes);
        Assert.Equal(Start.AddDays(7), stored.ExpiresAt);
        Assert.Equal(BudgetPeriod.Month, stored.BudgetPeriod);
        Assert.True(stored.HasScope(Scopes.Admin));
    }

    [Fact]
    public async Task AuthenticateAsync_WrongSecretForRealId_ReturnsNull()
    {
        var issued = await _store.CreateAsync(new CreateKeyRequest { Name = "ci" }, default);
        var other = await _store.CreateAsync(new CreateKeyRequest { Name = "other" }, default);
        var forged = $"enc_{issued.Key.Id}_{other.Secret[^43..]}";

        Assert.Null(await _store.AuthenticateAsync(forged, default));
        Assert.Null(await _store.AuthenticateAsync($"enc_{issued.Key.Id}_{new string('A', 43)}", default));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Bearer x")]
    [InlineData("enc_abcdefghij12_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")]
    public async Task AuthenticateAsync_Malformed_ReturnsNull(string presented)
    {
        await _store.CreateAsync(new CreateKeyRequest { Name = "ci" }, default);

        Assert.Null(await _store.AuthenticateAsync(presented, default));
    }

    [Fact]
    public async Task AuthenticateAsync_SecretWithWhitespaceOrCaseChange_ReturnsNull()
    {
        var issued = await _store.CreateAsync(new CreateKeyRequest { Name = "ci" }, default);

        Assert.Null(await _store.AuthenticateAsync(issued.Secret + " ", default));
        Assert.Null(await _store.AuthenticateAsync(issued.Secret.ToUpperInvariant(), default));
        Assert.Null(await _store.AuthenticateAsync(issued.Secret[..^1], default));
    }

    [Fact]
    public async Task AuthenticateAsync_UnknownId_ReturnsNull()
    {
        await _store.CreateAsync(new CreateKeyRequest { Name = "ci" }, default);

        Assert.Null(await _store.AuthenticateAsync("enc_000000000000_" + Convert.ToBase64String(new byte[32]).TrimEnd('=').Replace('+', '-').Replace('/', '_'), default));
    }

    [Fact]
    public async Task AuthenticateAsync_AfterExpiry_ReturnsNull()
    {
        var issued = await _store.CreateAsync(new CreateKeyRequest { Name = "ci", ExpiresAfter = TimeSpan.FromHours(1) }, default);

        _time.Advance(TimeSpan.FromMinutes(59));
        Assert.NotNull(await _store.AuthenticateAsync(issued.Secret, default));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(await _store.AuthenticateAsync(issued.Secret, default));
    }

    [Fact]
    public async Task RevokeAsync_ActiveKey_StopsAuthenticationAndRecordsTime()
    {
        var issued = await _store.CreateAsync(new CreateKeyRequest { Name = "ci" }, default);
        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.True(await _store.RevokeAsync(issued.Key.Id, default));

        Assert.Null(await _store.AuthenticateAsync(issued.Secret, default));
        Assert.Equal(Start.AddMinutes(5), (await _store.GetAsync(issued.Key.Id, default))!.RevokedAt);
        Assert.False(await _store.RevokeAsync(issued.Key.Id, default));
        Assert.False(await _store.RevokeAsync("nosuchkey000", default));
    }

    [Fact]
    public async Task RotateAsync_WithGrace_NewKeyWorksAndOldExpiresAfterGrace()
    {
        var old = await _store.CreateAsync(new CreateKeyRequest { Name = "ci", Models = ["chat"], Scopes = [Scopes.Inference], RequestsPerMinute = 5, TokenBudget = 10, BudgetPeriod = BudgetPeriod.Day }, default);
        _time.Advance(TimeSpan.FromMinutes(10));

        var rotated = await _store.RotateAsync(old.Key.Id, TimeSpan.FromHours(1), default);

        Assert.NotNull(rotated);
        Assert.NotEqual(old.Key.Id, rotated.Key.Id);
        Assert.NotEqual(old.Secret, rotated.Secret);
        Assert.Equal(old.Key with { Id = rotated.Key.Id, CreatedAt = rotated.Key.CreatedAt, Models = rotated.Key.Models, Scopes = rotated.Key.Scopes }, rotated.Key);
        Assert.Equal(["chat"], rotated.Key.Models);
        Assert.Equal([Scopes.Inference], rotated.Key.Scopes);
        Assert.Equal(Start.AddMinutes(10), rotated.Key.CreatedAt);
        Assert.NotNull(await _store.AuthenticateAsync(rotated.Secret, default));
        _time.Advance(TimeSpan.FromMinutes(59));
        Assert.NotNull(await _store.AuthenticateAsync(old.Secret, default));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(await _store.AuthenticateAsync(old.Secret, default));
        Assert.NotNull(await _store.AuthenticateAsync(rotated.Secret, default));
        Assert.Equal(Start.AddMinutes(70), (await _store.GetAsync(old.Key.Id, default))!.ExpiresAt);
    }

    [Fact]
    public async Task RotateAsync_OldKeyExpiresBeforeGraceEnds_KeepsEarlierExpiry()
    {
        var old = await _store.CreateAsync(new CreateKeyRequest { Name = "ci", ExpiresAfter = TimeSpan.FromMinutes(30) }, default);

        var rotated = await _store.RotateAsync(old.Key.Id, TimeSpan.FromDays(1), default);

        Assert.Equal(Start.AddMinutes(30), (await _store.GetAsync(old.Key.Id, default))!.ExpiresAt);
        Assert.Equal(Start.AddMinutes(30), rotated!.Key.ExpiresAt);
    }

    [Fact]
    public async Task RotateAsync_ZeroGrace_OldKeyStopsAtOnce()
    {
        var old = await _store.CreateAsync(new CreateKeyRequest { Name = "ci" }, default);

        var rotated = await _store.RotateAsync(old.Key.Id, TimeSpan.Zero, default);

        Assert.Null(await _store.AuthenticateAsync(old.Secret, default));
        Assert.NotNull(await _store.AuthenticateAsync(rotated!.Secret, default));
    }

    [Fact]
    public async Task RotateAsync_RevokedOrUnknownKey_ReturnsNull()
    {
        var old = await _store.CreateAsync(new CreateKeyRequest { Name = "ci" }, default);
        await _store.RevokeAsync(old.Key.Id, default);

        Assert.Null(await _store.RotateAsync(old.Key.Id, TimeSpan.FromHours(1), default));
        Assert.Null(await _store.RotateAsync("nosuchkey000", TimeSpan.FromHours(1), default));
    }

    [Fact]
    public async Task ListAndAny_ReflectEveryKeyIncludingRevoked()
    {
        Assert.False(await _store.AnyAsync(default));
        var a = await _store.CreateAsync(new CreateKeyRequest { Name = "a" }, default);
        _time.Advance(TimeSpan.FromSeconds(1));
        var b = await _store.CreateAsync(new CreateKeyRequest { Name = "b" }, default);
        await _store.RevokeAsync(a.Key.Id, default);

        var keys = await _store.ListAsync(default);

        Assert.True(await _store.AnyAsync(default));
        Assert.Equal([a.Key.Id, b.Key.Id], keys.Select(k => k.Id));
        Assert.NotNull(keys[0].RevokedAt);
    }

    [Fact]
    public async Task CreateAsync_StoredRow_NeverContainsTheSecret()
    {
        var issued = await _store.CreateAsync(new CreateKeyRequest { Name = "ci" }, default);
        var secretPart = issued.Secret[^43..];

        var raw = _dir.RawDatabaseBytes();
        Assert.Equal(-1, raw.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secretPart)));
        Assert.Equal(-1, raw.AsSpan().IndexOf(System.Buffers.Text.Base64Url.DecodeFromChars(secretPart)));
        using var connection = _dir.OpenRaw();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM api_keys";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        for (var i = 0; i < reader.FieldCount; i++)
        {
            var value = reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)!;
            Assert.DoesNotContain(secretPart, value, StringComparison.Ordinal);
            Assert.DoesNotContain(secretPart[..16], value, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task SecondInstance_SeesCreateAndRevokeImmediately()
    {
        var other = new SqliteApiKeyStore(new Enclave.Storage.EnclaveDatabase(_dir.Path), _time);
        Assert.False(await other.AnyAsync(default));

        var issued = await _store.CreateAsync(new CreateKeyRequest { Name = "ci" }, default);
        Assert.NotNull(await other.AuthenticateAsync(issued.Secret, default));
        Assert.True(await other.AnyAsync(default));

        await _store.RevokeAsync(issued.Key.Id, default);
        Assert.Null(await other.AuthenticateAsync(issued.Secret, default));
    }

    [Fact]
    public async Task HashKeyFile_CreatedOnFirstUse_OwnerOnly()
    {
        await _store.CreateAsync(new CreateKeyRequest { Name = "ci" }, default);

        var file = Path.Combine(_dir.Path, "secrets", "key-hash.key");
        Assert.Equal(32, Convert.FromBase64String(File.ReadAllText(file).Trim()).Length);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(file)!));
        }
    }

    [Fact]
    public async Task HashKeyFile_Replaced_OldSecretsNoLongerAuthenticate()
    {
        var issued = await _store.CreateAsync(new CreateKeyRequest { Name = "ci" }, default);
        File.Delete(Path.Combine(_dir.Path, "secrets", "key-hash.key"));

        var fresh = new SqliteApiKeyStore(new Enclave.Storage.EnclaveDatabase(_dir.Path), _time);

        Assert.Null(await fresh.AuthenticateAsync(issued.Secret, default));
    }
}
