using System.Globalization;

namespace Enclave.Hosting;

/// <summary>
/// Builds the configuration: <c>enclave.json</c> (from --config, else the config directory), overlaid by
/// <c>ENCLAVE__Section__Key</c> environment variables, overlaid by command-line flags.
/// </summary>
public static class EnclaveConfiguration
{
    public const string EnvironmentPrefix = "ENCLAVE__";

    public static IConfigurationRoot Build(string? configFile, string? urls, IReadOnlyList<string> models, string? dataDir, IReadOnlyList<string>? backends = null)
    {
        var builder = new ConfigurationBuilder();
        var file = configFile ?? DefaultConfigFile();
        if (configFile is not null && !File.Exists(configFile))
        {
            throw new ConfigurationException($"Configuration file '{configFile}' does not exist. Fix --config or create the file.");
        }

        if (file is not null && File.Exists(file))
        {
            builder.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
        }

        builder.AddEnvironmentVariables(EnvironmentPrefix);
        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (urls is not null)
        {
            overrides["Server:Urls"] = urls;
        }

        overrides["Server:DataDir"] = ResolveDataDir(dataDir);
        foreach (var spec in models)
        {
            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == spec.Length - 1)
            {
                throw new ConfigurationException($"--model '{spec}' is not NAME=PATH. Example: --model stories=./models/stories260K.gguf");
            }

            var name = spec[..eq];
            if (name.Contains(':', StringComparison.Ordinal))
            {
                throw new ConfigurationException($"--model '{spec}': model names cannot contain ':' (it separates configuration sections). Use another name, for example '{name.Replace(':', '-')}'.");
            }

            overrides[$"Models:{name}:Path"] = Path.GetFullPath(spec[(eq + 1)..]);
        }

        foreach (var spec in backends ?? [])
        {
            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == spec.Length - 1)
            {
                throw new ConfigurationException($"--backend '{spec}' is not NAME=URL. Example: --backend gpu1=http://10.0.0.5:8000/v1");
            }

            var name = spec[..eq];
            if (name.Contains(':', StringComparison.Ordinal))
            {
                throw new ConfigurationException($"--backend '{spec}': backend names cannot contain ':'.");
            }

            overrides[$"Backends:{name}:Kind"] = "OpenAi";
            overrides[$"Backends:{name}:BaseUrl"] = spec[(eq + 1)..];
            overrides[$"Backends:{name}:DiscoverModels"] = "true";
        }

        builder.AddInMemoryCollection(overrides);
        return builder.Build();
    }

    /// <summary>--data-dir, else ENCLAVE_HOME, else $XDG_DATA_HOME/enclave (~/.local/share/enclave).</summary>
    public static string ResolveDataDir(string? dataDir)
    {
        if (!string.IsNullOrWhiteSpace(dataDir))
        {
            return Path.GetFullPath(dataDir);
        }

        var home = Environment.GetEnvironmentVariable("ENCLAVE_HOME");
        if (!string.IsNullOrWhiteSpace(home))
        {
            return Path.GetFullPath(home);
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var root = string.IsNullOrWhiteSpace(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share")
            : xdg;
        return Path.Combine(root, "enclave");
    }

    private static string? DefaultConfigFile()
    {
        var local = Path.Combine(Directory.GetCurrentDirectory(), "enclave.json");
        if (File.Exists(local))
        {
            return local;
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
        var root = string.IsNullOrWhiteSpace(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config")
            : xdg;
        var user = Path.Combine(root, "enclave", "enclave.json");
        return File.Exists(user) ? user : null;
    }

    internal static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Invalid configuration; the message names the setting and the fix.</summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException(string message) : base(message)
    {
    }

    public ConfigurationException()
    {
    }

    public ConfigurationException(string message, Exception inner) : base(message, inner)
    {
    }
}
