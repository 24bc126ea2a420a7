using Enclave.Native.Gguf;
using Microsoft.Extensions.Options;

namespace Enclave.Backends;

/// <summary>
/// Checks the residency settings at start-up: keep-alive durations (<c>Residency:KeepAlive</c>,
/// <c>Models:NAME:KeepAlive</c>), the memory budget, and that every model fits an explicitly set budget on its own.
/// Runs next to the models validator, which reports missing or malformed model files.
/// </summary>
public sealed class ModelResidencyOptionsValidator : IValidateOptions<ModelsOptions>
{
    private const string KeepAliveHelp = "Use a duration such as 5m, 30s or 1h30m, 0 (unload as soon as idle) or -1 (never unload).";

    public ValidateOptionsResult Validate(string? name, ModelsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var residency = options.Residency;
        if (!KeepAlive.TryParse(residency.KeepAlive, out _))
        {
            errors.Add($"Residency:KeepAlive '{residency.KeepAlive}' is not a keep-alive. {KeepAliveHelp}");
        }

        if (residency.MemoryBudgetBytes < -1)
        {
            errors.Add($"Residency:MemoryBudgetBytes {residency.MemoryBudgetBytes} is not valid. Use a number of bytes, 0 (80% of the memory available) or -1 (no budget).");
        }

        foreach (var (model, engine) in options.Models)
        {
            if (engine.KeepAlive is not null && !KeepAlive.TryParse(engine.KeepAlive, out _))
            {
                errors.Add($"Models:{model}:KeepAlive '{engine.KeepAlive}' is not a keep-alive. {KeepAliveHelp}");
            }

            if (residency.MemoryBudgetBytes > 0 && TryEstimate(engine) is { } need && need > residency.MemoryBudgetBytes)
            {
                errors.Add($"Models:{model} needs about {need >> 20} MiB (the worker, its weights, and the KV cache for Slots x ContextSize), more than Residency:MemoryBudgetBytes ({residency.MemoryBudgetBytes >> 20} MiB). Raise the budget, lower Slots or ContextSize, or set the budget to -1.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    // A file that cannot be read is reported by the models validator; it has no estimate here.
    private static long? TryEstimate(Engine.EngineOptions engine)
    {
        try
        {
            return File.Exists(engine.Path) ? ModelFootprint.Estimate(GgufReader.Read(engine.Path).Info, engine) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidModelFileException)
        {
            return null;
        }
    }
}
