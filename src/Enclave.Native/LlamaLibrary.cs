using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Enclave.Native.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Enclave.Native;

/// <summary>
/// Finds, loads and checks the native llama.cpp libraries once per process. The folder is
/// <c>ENCLAVE_LLAMA_LIB_DIR</c> when set, else <c>llama/</c> beside the executable (placed there by the build).
/// Thread-safe; <see cref="Initialize"/> may be called many times and does the work once.
/// </summary>
public static partial class LlamaLibrary
{
    /// <summary>Environment variable that points to another llama.cpp build (for example a CUDA one).</summary>
    public const string LibDirVariable = "ENCLAVE_LLAMA_LIB_DIR";

    private static readonly Lock InitLock = new();
    private static LlamaLibraryInfo? _info;
    private static IntPtr _llama;
    private static IntPtr _ggml;
    private static ILogger _logger = NullLogger.Instance;

    /// <summary>What was loaded, once <see cref="Initialize"/> has succeeded; otherwise null.</summary>
    public static LlamaLibraryInfo? Info => _info;

    /// <summary>The folder the libraries are taken from, whether or not they load.</summary>
    public static string ResolveDirectory()
    {
        var fromEnv = Environment.GetEnvironmentVariable(LibDirVariable);
        return string.IsNullOrWhiteSpace(fromEnv) ? Path.Combine(AppContext.BaseDirectory, "llama") : Path.GetFullPath(fromEnv);
    }

    /// <summary>
    /// Loads libllama and libggml, loads every ggml backend in the folder, routes native logs to
    /// <paramref name="logger"/>, and verifies struct layouts. Throws <see cref="LlamaException"/> with the likely causes.
    /// </summary>
    public static LlamaLibraryInfo Initialize(ILogger? logger = null)
    {
        lock (InitLock)
        {
            if (logger is not null)
            {
                _logger = logger;
            }

            if (_info is not null)
            {
                return _info;
            }

            var dir = ResolveDirectory();
            if (!Directory.Exists(dir))
            {
                throw new LlamaException($"llama.cpp library folder '{dir}' does not exist. Build the project (the build fetches the libraries with npm) or set {LibDirVariable} to a folder holding libllama and libggml.");
            }

            var llamaPath = FindLibrary(dir, "libllama");
            var ggmlPath = FindLibrary(dir, "libggml");
            try
            {
                _ggml = NativeLibrary.Load(ggmlPath);
                _llama = NativeLibrary.Load(llamaPath);
            }
            catch (DllNotFoundException ex)
            {
                throw new LlamaException($"Could not load {llamaPath}: {ex.Message}. Likely causes: a library built for another CPU or backend, a missing CUDA/Vulkan runtime for a GPU build, or a missing dependency (run ldd on the file).", ex);
            }

            NativeLibrary.SetDllImportResolver(typeof(LlamaLibrary).Assembly, Resolve);
            unsafe
            {
                LlamaNative.llama_log_set(&OnNativeLog, IntPtr.Zero);
                LlamaNative.ggml_log_set(&OnNativeLog, IntPtr.Zero);
            }

            // Must run before anything else touches a backend: it picks the best CPU variant for this machine.
            LlamaNative.ggml_backend_load_all_from_path(dir);
            LlamaNative.llama_backend_init();
            LlamaLayoutCheck.Verify();

            var backends = new List<string>();
            var count = (int)LlamaNative.ggml_backend_reg_count();
            for (var i = 0; i < count; i++)
            {
                var name = Marshal.PtrToStringUTF8(LlamaNative.ggml_backend_reg_name(LlamaNative.ggml_backend_reg_get((nuint)i)));
                if (name is not null)
                {
                    backends.Add(name);
                }
            }

            var cpuBackendFile = Directory.GetFiles(dir, "libggml-cpu-*.so").Select(Path.GetFileName).Where(f => f is not null)
                .FirstOrDefault(f => IsMapped(f!));
            _info = new LlamaLibraryInfo(
                dir,
                llamaPath,
                ReadRelease(dir),
                backends,
                cpuBackendFile,
                Marshal.PtrToStringUTF8(LlamaNative.llama_print_system_info()) ?? "");
            return _info;
        }
    }

    private static bool IsMapped(string fileName)
    {
        try
        {
            return File.ReadLines("/proc/self/maps").Any(l => l.EndsWith(fileName, StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string FindLibrary(string dir, string stem)
    {
        var exact = Path.Combine(dir, stem + ".so");
        if (File.Exists(exact))
        {
            return exact;
        }

        var versioned = Directory.GetFiles(dir, stem + ".v*.so").Order(StringComparer.Ordinal).LastOrDefault();
        return versioned ?? throw new LlamaException($"No {stem}.so (or {stem}.v*.so) in '{dir}'. Set {LibDirVariable} to a llama.cpp build folder, or rebuild to fetch the bundled one.");
    }

    private static string? ReadRelease(string dir)
    {
        var metadata = Path.Combine(dir, "_nlcBuildMetadata.json");
        if (!File.Exists(metadata))
        {
            return null;
        }

        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(metadata));
        return doc.RootElement.TryGetProperty("buildOptions", out var options)
            && options.TryGetProperty("llamaCpp", out var llama)
            && llama.TryGetProperty("release", out var release) ? release.GetString() : null;
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) => libraryName switch
    {
        LlamaNative.Llama => _llama,
        LlamaNative.Ggml => _ggml,
        _ => IntPtr.Zero,
    };

    [ThreadStatic]
    private static StringBuilder? _pendingLine;

    [ThreadStatic]
    private static int _pendingLevel;

    // llama.cpp writes partial lines (level CONT continues the previous one); assemble whole lines per thread.
    [UnmanagedCallersOnly]
    private static void OnNativeLog(int level, IntPtr text, IntPtr userData)
    {
        try
        {
            var chunk = Marshal.PtrToStringUTF8(text) ?? "";
            var line = _pendingLine ??= new StringBuilder();
            if (level != 5)
            {
                _pendingLevel = level;
            }

            line.Append(chunk);
            if (!chunk.EndsWith('\n'))
            {
                return;
            }

            var message = line.ToString().TrimEnd('\n');
            line.Clear();
            var logLevel = _pendingLevel switch
            {
                4 => LogLevel.Error,
                3 => LogLevel.Warning,
                2 => LogLevel.Debug,
                _ => LogLevel.Trace,
            };
            if (message.Length > 0)
            {
                LogNative(_logger, logLevel, message);
            }
        }
#pragma warning disable CA1031 // A native callback must never let an exception unwind into llama.cpp.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    [LoggerMessage(EventId = 2001, Message = "llama.cpp: {NativeMessage}")]
    private static partial void LogNative(ILogger logger, LogLevel level, string nativeMessage);
}

/// <summary>What <see cref="LlamaLibrary.Initialize"/> found and loaded.</summary>
/// <param name="Directory">Folder the libraries came from.</param>
/// <param name="LlamaPath">Full path of libllama.</param>
/// <param name="Release">llama.cpp release from the build metadata, when present.</param>
/// <param name="Backends">Registered ggml backends (CPU, CUDA, ...).</param>
/// <param name="CpuVariant">The CPU backend library chosen for this machine.</param>
/// <param name="SystemInfo">llama.cpp's CPU feature line.</param>
public sealed record LlamaLibraryInfo(
    string Directory,
    string LlamaPath,
    string? Release,
    IReadOnlyList<string> Backends,
    string? CpuVariant,
    string SystemInfo);
