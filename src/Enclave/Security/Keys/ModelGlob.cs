namespace Enclave.Security.Keys;

/// <summary>
/// Model-name globs on keys: <c>*</c> matches any run of characters (including none), <c>?</c> exactly one;
/// everything else matches itself, case-sensitively; the whole name must match. Thread-safe (stateless).
/// </summary>
public static class ModelGlob
{
    /// <summary>True when <paramref name="model"/> matches at least one of <paramref name="globs"/>.</summary>
    public static bool Matches(IReadOnlyList<string> globs, string model)
    {
        ArgumentNullException.ThrowIfNull(globs);
        ArgumentNullException.ThrowIfNull(model);
        for (var i = 0; i < globs.Count; i++)
        {
            if (IsMatch(globs[i], model))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when <paramref name="model"/> matches <paramref name="glob"/>.</summary>
    public static bool IsMatch(string glob, string model)
    {
        ArgumentNullException.ThrowIfNull(glob);
        ArgumentNullException.ThrowIfNull(model);

        // Greedy match with one backtrack point (the last '*'): linear in practice, O(n*m) worst case, no recursion.
        int g = 0, m = 0, star = -1, resume = 0;
        while (m < model.Length)
        {
            if (g < glob.Length && (glob[g] == '?' || (glob[g] != '*' && glob[g] == model[m])))
            {
                g++;
                m++;
            }
            else if (g < glob.Length && glob[g] == '*')
            {
                star = g++;
                resume = m;
            }
            else if (star >= 0)
            {
                g = star + 1;
                m = ++resume;
            }
            else
            {
                return false;
            }
        }

        while (g < glob.Length && glob[g] == '*')
        {
            g++;
        }

        return g == glob.Length;
    }
}
