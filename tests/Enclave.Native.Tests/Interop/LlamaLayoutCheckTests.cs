using System.Runtime.InteropServices;
using Enclave.Native;
using Enclave.Native.Interop;
using Xunit;

namespace Enclave.Native.Tests.Interop;

public sealed class LlamaLayoutCheckTests
{
    [Fact]
    public void FindProblems_BundledLibrary_None()
    {
        LlamaLibrary.Initialize();

        Assert.Empty(LlamaLayoutCheck.FindProblems(LlamaNative.llama_context_default_params(), LlamaNative.llama_model_default_params()));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(-4)]
    public void FindProblems_FieldsShifted_ReportsMismatch(int shift)
    {
        LlamaLibrary.Initialize();
        // Reading the same bytes at a different offset is what a struct declared for another release does.
        var context = Shift(LlamaNative.llama_context_default_params(), shift);
        var model = Shift(LlamaNative.llama_model_default_params(), shift);

        var problems = LlamaLayoutCheck.FindProblems(context, model);

        Assert.NotEmpty(problems);
        Assert.Contains(problems, p => p.StartsWith("llama_context_params.", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("llama_model_params.", StringComparison.Ordinal));
    }

    private static T Shift<T>(T value, int shift)
        where T : struct
    {
        var size = Marshal.SizeOf<T>();
        var bytes = new byte[size + 16];
        MemoryMarshal.Write(bytes.AsSpan(8), in value);
        return MemoryMarshal.Read<T>(bytes.AsSpan(8 + shift));
    }
}
