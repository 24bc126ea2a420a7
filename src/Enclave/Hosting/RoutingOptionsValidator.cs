using Enclave.Backends;
using Microsoft.Extensions.Options;

namespace Enclave.Hosting;

/// <summary>Checks the <c>Backends</c>, <c>Routes</c> and <c>Resilience</c> sections; each problem names the setting and the fix.</summary>
public sealed class RoutingOptionsValidator : IValidateOptions<RoutingOptions>
{
    public ValidateOptionsResult Validate(string? name, RoutingOptions options)
    {
        var errors = new List<string>();
        foreach (var (backend, b) in options.Backends)
        {
            var at = $"Backends:{backend}";
            if (backend == LocalBackend.LocalName)
            {
                errors.Add($"{at}: the name '{LocalBackend.LocalName}' is the local workers; choose another name.");
            }

            if (!Uri.TryCreate(b.BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || !string.IsNullOrEmpty(uri.UserInfo))
            {
                errors.Add($"{at}:BaseUrl '{b.BaseUrl}' is not an http:// or https:// address without credentials (e.g. http://10.0.0.5:8000/v1 for vLLM). Put keys in ApiKeyEnv or ApiKeyFile.");
            }

            if (!string.IsNullOrEmpty(b.ApiKeyEnv) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(b.ApiKeyEnv)))
            {
                errors.Add($"{at}:ApiKeyEnv names {b.ApiKeyEnv}, which is not set. Export it, or remove ApiKeyEnv.");
            }

            if (!string.IsNullOrEmpty(b.ApiKeyFile) && !File.Exists(b.ApiKeyFile))
            {
                errors.Add($"{at}:ApiKeyFile '{b.ApiKeyFile}' does not exist.");
            }
            else if (!string.IsNullOrEmpty(b.ApiKeyFile) && string.IsNullOrWhiteSpace(File.ReadLines(b.ApiKeyFile).FirstOrDefault()))
            {
                errors.Add($"{at}:ApiKeyFile '{b.ApiKeyFile}' is empty; put the key on its first line.");
            }

            if (!string.IsNullOrEmpty(b.ApiKeyEnv) && !string.IsNullOrEmpty(b.ApiKeyFile))
            {
                errors.Add($"{at}: set ApiKeyEnv or ApiKeyFile, not both.");
            }

            if (!(b.Weight > 0) || double.IsInfinity(b.Weight))
            {
                errors.Add($"{at}:Weight is {b.Weight}; give a positive number.");
            }

            if (b.MaxConcurrency < 1)
            {
                errors.Add($"{at}:MaxConcurrency is {b.MaxConcurrency}; give 1 or more.");
            }

            var t = b.Timeouts;
            foreach (var (key, value) in new[] { ("ConnectMs", t.ConnectMs), ("FirstTokenMs", t.FirstTokenMs), ("IdleMs", t.IdleMs), ("TotalMs", t.TotalMs) })
            {
                if (value < 1)
                {
                    errors.Add($"{at}:Timeouts:{key} is {value}; give a positive number of milliseconds.");
                }
            }

            if (!b.ShouldDiscover && b.Models.Count == 0)
            {
                errors.Add($"{at}: DiscoverModels is false and Models is empty, so it serves nothing. List its Models or turn discovery on.");
            }
        }

        foreach (var (route, r) in options.Routes)
        {
            var at = $"Routes:{route}";
            if (r.Targets.Count == 0)
            {
                errors.Add($"{at}:Targets is empty. Give at least one {{ \"Backend\": NAME, \"Model\": UPSTREAM_NAME }}.");
            }

            foreach (var (target, i) in r.Targets.Select((t, i) => (t, i)).Concat(r.Fallbacks.Select((t, i) => (t, i + 1000))))
            {
                var where = i < 1000 ? $"{at}:Targets:{i}" : $"{at}:Fallbacks:{i - 1000}";
                if (target.Backend != LocalBackend.LocalName && !options.Backends.ContainsKey(target.Backend))
                {
                    errors.Add($"{where}:Backend '{target.Backend}' is not a configured backend (known: {string.Join(", ", options.Backends.Keys.Prepend(LocalBackend.LocalName))}).");
                }

                if (!(target.Weight > 0))
                {
                    errors.Add($"{where}:Weight is {target.Weight}; give a positive number.");
                }
            }
        }

        var res = options.Resilience;
        if (res.MaxAttempts is < 1 or > 10)
        {
            errors.Add($"Resilience:MaxAttempts is {res.MaxAttempts}; give 1 to 10.");
        }

        if (res.BreakerConsecutiveFailures < 1 || res.BreakerMinimumRequests < 1 || res.BreakerOpenMs < 1 || res.BreakerWindowMs < 1 || res.HealthCheckIntervalMs < 1 || res.MaxRetryAfterMs < 0)
        {
            errors.Add("Resilience: breaker counts and times must be positive.");
        }

        if (res.BreakerFailureRatio is <= 0 or > 1)
        {
            errors.Add($"Resilience:BreakerFailureRatio is {res.BreakerFailureRatio}; give a share between 0 and 1.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
