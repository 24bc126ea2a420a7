using System.Runtime.InteropServices;

namespace Enclave.Native.Interop;

// Struct layouts mirror include/llama.h of llama.cpp v0.5.0 (node-llama-cpp 3.22.1). LlamaLibrary's start-up
// self-check compares the defaults llama.cpp returns with the values this layout expects, so a mismatch with
// another build is caught before any model is loaded.

/// <summary><c>struct llama_model_params</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaModelParams
{
    public IntPtr Devices;
    public IntPtr TensorBuftOverrides;
    public int NGpuLayers;
    public int SplitMode;
    public int LoadMode;
    public int LazyMode;
    public int MainGpu;
    public IntPtr TensorSplit;
    public IntPtr ProgressCallback;
    public IntPtr ProgressCallbackUserData;
    public IntPtr KvOverrides;
    public byte VocabOnly; // C bool
    public byte CheckTensors; // C bool
    public byte UseExtraBufts; // C bool
    public byte NoHost; // C bool
    public byte NoAlloc; // C bool
    public byte LoadMtp; // C bool
}

/// <summary><c>struct llama_context_params</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaContextParams
{
    public uint NCtx;
    public uint NBatch;
    public uint NUbatch;
    public uint NSeqMax;
    public uint NRsSeq;
    public uint NOutputsMax;
    public uint NOutputsMaxPerSeq;
    public int NThreads;
    public int NThreadsBatch;
    public int CtxType;
    public int RopeScalingType;
    public int PoolingType;
    public int AttentionType;
    public int FlashAttnType;
    public float RopeFreqBase;
    public float RopeFreqScale;
    public float YarnExtFactor;
    public float YarnAttnFactor;
    public float YarnBetaFast;
    public float YarnBetaSlow;
    public uint YarnOrigCtx;
    public float DefragThold;
    public IntPtr CbEval;
    public IntPtr CbEvalUserData;
    public int TypeK;
    public int TypeV;
    public IntPtr AbortCallback;
    public IntPtr AbortCallbackData;
    public byte Embeddings; // C bool
    public byte OffloadKqv; // C bool
    public byte NoPerf; // C bool
    public byte OpOffload; // C bool
    public byte SwaFull; // C bool
    public byte KvUnified; // C bool
    public IntPtr Samplers;
    public nuint NSamplers;
    public IntPtr CtxOther;
}

/// <summary><c>struct llama_batch</c>; the arrays are owned by llama.cpp (<c>llama_batch_init</c>/<c>llama_batch_free</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LlamaBatchNative
{
    public int NTokens;
    public int* Token;
    public float* Embd;
    public int* Pos;
    public int* NSeqId;
    public int** SeqId;
    public sbyte* Logits;
}

/// <summary><c>struct llama_chat_message</c>: two UTF-8, NUL-terminated strings.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaChatMessage
{
    public IntPtr Role;
    public IntPtr Content;
}

/// <summary><c>struct llama_sampler_chain_params</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaSamplerChainParams
{
    public byte NoPerf; // C bool
}

/// <summary><c>enum llama_pooling_type</c>.</summary>
public enum LlamaPoolingType
{
    Unspecified = -1,
    None = 0,
    Mean = 1,
    Cls = 2,
    Last = 3,
    Rank = 4,
}
