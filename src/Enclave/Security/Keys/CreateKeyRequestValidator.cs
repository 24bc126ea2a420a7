using System.Buffers;
using System.Globalization;
using System.Text;

namespace Enclave.Security.Keys;

/// <summary>
/// Checks a <see cref="CreateKeyRequest"/> and returns its normalised settings (defaults filled in, duplicates
/// removed); throws <see cref="ArgumentException"/> with a message that names the field and the fix.
/// Thread-safe (stateless).
/// </summary>
internal static class CreateKeyRequestValidator
{
    public const int MaxNameLength = 128;
    public const int MaxGlobLength = 256;

    public static CreateKeyRequest Normalize(CreateKeyRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var name = request.Name ?? "";
        if (name.Length is 0 or > MaxNameLength || string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException($"Key name must be 1 to {MaxNameLength} characters and not blank.", nameof(request));
        }

        if (!IsPrintable(name))
        {
            throw new ArgumentException("Key name must hold printable characters only (no control or formatting characters).", nameof(request));
        }

        var models = (request.Models ?? ["*"]).Distinct(StringComparer.Ordinal).ToArray();
        if (models.Length == 0)
        {
            throw new ArgumentException("Models must list at least one glob (use '*' for every model).", nameof(request));
        }

        foreach (var glob in models)
        {
            if (string.IsNullOrWhiteSpace(glob) || glob.Length > MaxGlobLength || glob.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
            {
                throw new ArgumentException($"Model glob '{glob}' is invalid: globs are 1 to {MaxGlobLength} characters without spaces, using '*' and '?' as wildcards.", nameof(request));
            }
        }

        var scopes = (request.Scopes ?? Scopes.Default).Distinct(StringComparer.Ordinal).ToArray();
        if (scopes.Length == 0)
        {
            throw new ArgumentException($"Scopes must list at least one of: {string.Join(", ", Scopes.All)}.", nameof(request));
        }

        var unknown = scopes.Where(s => !Scopes.All.Contains(s, StringComparer.Ordinal)).ToArray();
        if (unknown.Length > 0)
        {
            throw new ArgumentException($"Unknown scope(s) {string.Join(", ", unknown.Select(s => $"'{s}'"))}; valid scopes are: {string.Join(", ", Scopes.All)}.", nameof(request));
        }

        RequirePositive(request.RequestsPerMinute, "Requests per minute (--rpm)");
        RequirePositive(request.TokensPerMinute, "Tokens per minute (--tpm)");
        RequirePositive(request.Concurrency, "Concurrency (--concurrency)");
        RequirePositive(request.TokenBudget, "Token budget (--token-budget)");
        if (request.TokenBudget is not null && request.BudgetPeriod is null)
        {
            throw new ArgumentException("A token budget needs a period: give --budget-period day or month.", nameof(request));
        }

        if (request.TokenBudget is null && request.BudgetPeriod is not null)
        {
            throw new ArgumentException("A budget period needs a token budget: give --token-budget N as well.", nameof(request));
        }

        if (request.BudgetPeriod is { } period && !Enum.IsDefined(period))
        {
            throw new ArgumentException($"Budget period '{period}' is not one of: day, month.", nameof(request));
        }

        if (request.ExpiresAfter is { } lifetime && lifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException("Expiry must be a positive duration, for example 30d.", nameof(request));
        }

        return request with { Name = name, Models = models, Scopes = scopes };
    }

    private static bool IsPrintable(string text)
    {
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var consumed) != OperationStatus.Done)
            {
                return false;
            }

            // Format characters include bidirectional overrides, which would let a name lie about itself in a table.
            if (Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
                or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                return false;
            }

            rest = rest[consumed..];
        }

        return true;
    }

    private static void RequirePositive(long? value, string what)
    {
        if (value is <= 0)
        {
            throw new ArgumentException($"{what} must be greater than zero; leave it out for unlimited.");
        }
    }
}
