using System.Diagnostics.CodeAnalysis;

namespace Enclave.Native.Gguf;

/// <summary>
/// Thrown when a model file is not a well-formed GGUF file that this gateway can safely hand to llama.cpp.
/// The message names what is wrong and where (section, key or tensor, byte offset).
/// </summary>
public sealed class InvalidModelFileException : Exception
{
    /// <summary>The stable error code reported to API clients.</summary>
    public const string ErrorCode = "invalid_model_file";

    public InvalidModelFileException()
        : this(string.Empty, "the file is not a valid GGUF model file", null)
    {
    }

    public InvalidModelFileException(string message)
        : this(string.Empty, message, null)
    {
    }

    public InvalidModelFileException(string message, Exception innerException)
        : base(message, innerException)
    {
        FilePath = string.Empty;
        Detail = message;
    }

    /// <summary>Creates an exception for <paramref name="filePath"/> with a problem description.</summary>
    /// <param name="filePath">The path or display name of the file.</param>
    /// <param name="detail">What is wrong and where, without the file name.</param>
    /// <param name="offset">The byte offset at which the problem was detected, when known.</param>
    public InvalidModelFileException(string filePath, string detail, long? offset)
        : base(FormatMessage(filePath, detail))
    {
        FilePath = filePath ?? string.Empty;
        Detail = detail;
        Offset = offset;
    }

    /// <summary>Always <c>invalid_model_file</c>.</summary>
    [SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "Part of the error contract shared by Enclave exceptions.")]
    public string Code => ErrorCode;

    /// <summary>The path (or display name) of the offending file; empty when unknown.</summary>
    public string FilePath { get; }

    /// <summary>The problem description without the file name prefix.</summary>
    public string Detail { get; }

    /// <summary>The byte offset at which the problem was detected, when known.</summary>
    public long? Offset { get; }

    private static string FormatMessage(string? filePath, string detail) =>
        string.IsNullOrEmpty(filePath)
            ? $"Invalid GGUF model file: {detail}"
            : $"Invalid GGUF model file '{filePath}': {detail}";
}
