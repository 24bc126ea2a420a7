using Enclave.Backends;
using Enclave.Native.Gguf;
using Microsoft.Extensions.Options;

namespace Enclave.Hosting;

/// <summary>
/// Checks every configured model before any worker starts: a name, a readable file, and a GGUF that the
/// managed validator accepts, so a bad file is refused with <c>invalid_model_file</c> before llama.cpp sees it.
/// </summary>
public sealed class ModelsOptionsValidator : IValidateOptions<ModelsOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelsOptions options)
    {
        var errors = new List<string>();
        foreach (var (model, engine) in options.Models)
        {
            if (string.IsNullOrWhiteSpace(model) || model.Length > 256 || model.Any(char.IsControl))
            {
                errors.Add($"Models: '{model}' is not a usable model name (1-256 printable characters).");
                continue;
            }

            if (string.IsNullOrWhiteSpace(engine.Path))
            {
                errors.Add($"Models:{model}:Path is empty. Set it to a .gguf file.");
                continue;
            }

            if (!File.Exists(engine.Path))
            {
                errors.Add($"Models:{model}:Path '{engine.Path}' does not exist. Fix the path or remove the model.");
                continue;
            }

            try
            {
                GgufReader.Read(engine.Path);
            }
            catch (InvalidModelFileException ex)
            {
                errors.Add($"Models:{model}:Path: invalid_model_file: {ex.Message}");
            }
            catch (IOException ex)
            {
                errors.Add($"Models:{model}:Path '{engine.Path}' cannot be read: {ex.Message}");
            }
            catch (UnauthorizedAccessException ex)
            {
                errors.Add($"Models:{model}:Path '{engine.Path}' cannot be read: {ex.Message}");
            }

            foreach (var result in ValidateRanges(model, engine))
            {
                errors.Add(result);
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static IEnumerable<string> ValidateRanges(string model, Engine.EngineOptions engine)
    {
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        System.ComponentModel.DataAnnotations.Validator.TryValidateObject(engine, new(engine), results, validateAllProperties: true);
        return results.Select(r => $"Models:{model}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}");
    }
}
