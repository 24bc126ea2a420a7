using Microsoft.Extensions.Options;

namespace Enclave.Backends;

/// <summary>One place a request may be sent: a backend and the model name it knows.</summary>
public sealed record Candidate(Backend Backend, string UpstreamModel, bool IsFallback, double Weight);

/// <summary>
/// Turns a public model name into the ordered places to try. A <c>Routes</c> entry gives weighted targets and an
/// ordered fallback chain; without one, every backend serving the name is a target. Targets are ordered by a
/// weighted draw favouring fewer requests in flight (probability proportional to weight / (1 + outstanding)),
/// so idle backends share traffic by weight and a slow one gets less. Thread-safe.
/// </summary>
public sealed class ModelRouter(BackendRegistry backends, IOptions<RoutingOptions> options)
{
    private readonly RoutingOptions _options = options.Value;

    /// <summary>Every public model name: route names and the models backends serve.</summary>
    public IReadOnlyList<(string Model, string Owner)> PublicModels()
    {
        var list = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var backend in backends.All)
        {
            foreach (var model in backend.Models.Order(StringComparer.Ordinal))
            {
                if (seen.Add(model))
                {
                    list.Add((model, backend.IsLocal ? "enclave" : backend.Name));
                }
            }
        }

        foreach (var route in _options.Routes.Keys.Order(StringComparer.Ordinal))
        {
            if (seen.Add(route))
            {
                list.Add((route, "enclave"));
            }
        }

        return list;
    }

    public bool IsKnown(string model) => _options.Routes.ContainsKey(model) || backends.All.Any(b => b.Serves(model));

    /// <summary>The candidates for one request, best first; empty when the name is unknown.</summary>
    public IReadOnlyList<Candidate> Plan(string model)
    {
        List<Candidate> targets;
        List<Candidate> fallbacks = [];
        if (_options.Routes.TryGetValue(model, out var route))
        {
            targets = [.. Resolve(route.Targets, model, fallback: false)];
            fallbacks = [.. Resolve(route.Fallbacks, model, fallback: true)];
        }
        else
        {
            targets = [.. backends.All.Where(b => b.Serves(model)).Select(b => new Candidate(b, model, false, b.Weight))];
        }

        var ordered = new List<Candidate>(targets.Count + fallbacks.Count);
        while (targets.Count > 0)
        {
            var pick = Draw(targets);
            ordered.Add(targets[pick]);
            targets.RemoveAt(pick);
        }

        ordered.AddRange(fallbacks);
        return ordered;
    }

    private IEnumerable<Candidate> Resolve(List<RouteTarget> list, string model, bool fallback)
    {
        foreach (var target in list)
        {
            if (backends.Find(target.Backend) is { } backend)
            {
                yield return new Candidate(backend, target.Model ?? model, fallback, target.Weight);
            }
        }
    }

    private static int Draw(List<Candidate> targets)
    {
        if (targets.Count == 1)
        {
            return 0;
        }

        Span<double> scores = stackalloc double[targets.Count];
        var total = 0.0;
        for (var i = 0; i < targets.Count; i++)
        {
            var c = targets[i];
            var weight = c.Weight;
            // An open circuit or a full backend goes last, whatever its weight.
            var available = c.Backend.Breaker.IsAvailable && c.Backend.Outstanding < c.Backend.MaxConcurrency;
            scores[i] = available ? Math.Max(weight, 1e-6) / (1 + c.Backend.Outstanding) : 0;
            total += scores[i];
        }

        if (total <= 0)
        {
            return 0;
        }

        var x = Random.Shared.NextDouble() * total;
        for (var i = 0; i < targets.Count; i++)
        {
            x -= scores[i];
            if (x < 0)
            {
                return i;
            }
        }

        return targets.Count - 1;
    }
}
