using System.Runtime.InteropServices;

namespace Enclave.Native.Interop;

/// <summary>Owns a <c>llama_model*</c>; released with <c>llama_model_free</c>.</summary>
internal sealed class SafeLlamaModelHandle : SafeHandle
{
    public SafeLlamaModelHandle() : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    internal static SafeLlamaModelHandle FromPointer(IntPtr pointer)
    {
        var result = new SafeLlamaModelHandle();
        result.SetHandle(pointer);
        return result;
    }

    protected override bool ReleaseHandle()
    {
        LlamaNative.llama_model_free(handle);
        return true;
    }
}

/// <summary>
/// Owns a <c>llama_context*</c>; released with <c>llama_free</c>. Holds a reference on its model so the model
/// outlives every context created from it. Not thread-safe: one thread uses a context at a time.
/// </summary>
internal sealed class SafeLlamaContextHandle : SafeHandle
{
    private SafeLlamaModelHandle? _model;

    public SafeLlamaContextHandle() : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    internal static SafeLlamaContextHandle Create(SafeLlamaModelHandle model, LlamaContextParams parameters)
    {
        var added = false;
        model.DangerousAddRef(ref added);
        var pointer = LlamaNative.llama_init_from_model(model.DangerousGetHandle(), parameters);
        if (pointer == IntPtr.Zero)
        {
            model.DangerousRelease();
            throw new LlamaException("llama.cpp could not create a context (not enough memory for the requested context size, or unsupported parameters).");
        }

        var result = new SafeLlamaContextHandle { _model = model };
        result.SetHandle(pointer);
        return result;
    }

    protected override bool ReleaseHandle()
    {
        LlamaNative.llama_free(handle);
        _model?.DangerousRelease();
        _model = null;
        return true;
    }
}

/// <summary>Owns a sampler chain (<c>llama_sampler*</c>); released with <c>llama_sampler_free</c>.</summary>
internal sealed class SafeLlamaSamplerHandle : SafeHandle
{
    public SafeLlamaSamplerHandle() : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    internal static SafeLlamaSamplerHandle FromPointer(IntPtr pointer)
    {
        var result = new SafeLlamaSamplerHandle();
        result.SetHandle(pointer);
        return result;
    }

    protected override bool ReleaseHandle()
    {
        LlamaNative.llama_sampler_free(handle);
        return true;
    }
}
