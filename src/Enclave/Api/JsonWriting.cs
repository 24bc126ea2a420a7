using System.Text.Encodings.Web;
using System.Text.Json;

namespace Enclave.Api;

/// <summary>Writer settings for API bodies: plain UTF-8 and quotes as \" like OpenAI (bodies are never embedded in HTML).</summary>
internal static class JsonWriting
{
    public static JsonWriterOptions Options { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
