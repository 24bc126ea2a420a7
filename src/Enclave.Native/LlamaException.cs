namespace Enclave.Native;

/// <summary>A failure reported by the native llama.cpp library, or a problem loading it. The message is safe to show operators.</summary>
public sealed class LlamaException : Exception
{
    public LlamaException(string message) : base(message)
    {
    }

    public LlamaException(string message, Exception inner) : base(message, inner)
    {
    }

    public LlamaException()
    {
    }
}
