using System.Text;
using Enclave.Native.Gguf;
using Xunit;
using static Enclave.Native.Tests.Gguf.GgufTestData;

namespace Enclave.Native.Tests.Gguf;

/// <summary>Crafted malformed GGUF files: each must be rejected with <see cref="InvalidModelFileException"/> naming the problem.</summary>
public sealed class GgufReaderMalformedTests
{
    private const int VersionOffset = 4;
    private const int TensorCountOffset = 8;
    private const int KvCountOffset = 16;
    private const int FirstKeyOffset = 24;

    private static readonly Lazy<byte[]> Valid = new(ValidBytes);

    private static readonly Dictionary<string, MalformedCase> Cases = BuildCases().ToDictionary(c => c.Name, StringComparer.Ordinal);

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Fact]
    public void Read_CraftedBaseFile_IsValid()
    {
        var file = ReadBytes(Valid.Value);

        Assert.Equal("llama", file.Info.Architecture);
        Assert.Equal("Q8_0", file.Info.Quantization);
        Assert.Equal(4, file.Info.VocabularySize);
        Assert.Equal(16, file.Info.HeadDimension);
        Assert.Equal(3, file.Tensors.Count);
        Assert.Equal(64 * 4 + 64 * 64 + 64, file.Info.ParameterCount);
        Assert.Equal(4352, file.Tensors[1].ByteSize);
        Assert.True(Cases.Count >= 30, $"only {Cases.Count} malformed cases");
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Read_MalformedFile_ThrowsInvalidModelFile(string caseName)
    {
        var c = Cases[caseName];
        var bytes = c.Build();

        var ex = Assert.Throws<InvalidModelFileException>(() => ReadBytes(bytes, c.Limits));

        Assert.Equal("invalid_model_file", ex.Code);
        Assert.Equal("test.gguf", ex.FilePath);
        Assert.Contains("test.gguf", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.Message.Contains(c.Expected, StringComparison.Ordinal), $"Expected \"{c.Expected}\" in the message: {ex.Message}");
    }

    [Fact]
    public void Read_TruncatedAtEveryLength_ThrowsInvalidModelFile()
    {
        var bytes = Valid.Value;
        var headerEnd = (int)ReadBytes(bytes).DataOffset + 64;
        for (var length = 0; length < bytes.Length; length += length < headerEnd ? 1 : 97)
        {
            var ex = Assert.Throws<InvalidModelFileException>(() => ReadBytes(bytes[..length]));
            Assert.Equal("invalid_model_file", ex.Code);
        }
    }

    [Fact]
    public void Read_StreamShorterThanDeclaredLength_ThrowsInvalidModelFile()
    {
        var bytes = Valid.Value;
        using var stream = new MemoryStream(bytes[..200]);

        var ex = Assert.Throws<InvalidModelFileException>(() => GgufReader.Read(stream, bytes.Length, "short.gguf"));

        Assert.Contains("unexpected end of file", ex.Message, StringComparison.Ordinal);
        Assert.Equal("short.gguf", ex.FilePath);
    }

    [Fact]
    public void Read_ExceptionMessage_NamesKeyAndOffset()
    {
        var bytes = PatchUInt64(Valid.Value, ValueTypeOffset(Valid.Value, "general.name") + 4, uint.MaxValue);

        var ex = Assert.Throws<InvalidModelFileException>(() => ReadBytes(bytes));

        var offset = ValueTypeOffset(Valid.Value, "general.name") + 4;
        Assert.Equal(
            $"Invalid GGUF model file 'test.gguf': metadata key #1 ('general.name'): string length 4294967295 runs past the end of the file ({bytes.Length - offset - 8} bytes remain) (at offset {offset})",
            ex.Message);
        Assert.Equal(offset, ex.Offset);
    }

    private static IEnumerable<MalformedCase> BuildCases()
    {
        byte[] V() => Valid.Value;
        byte[] Truncate(int length) => V()[..length];
        byte[] Tensors(Action<GgufWriter> tensors, long? dataLength = null)
        {
            var w = ValidWriter(tensors: tensors);
            w.DataLength = dataLength;
            return w.ToArray();
        }

        byte[] Meta(string key, GgufValue? value) => ValidWriter(Replace(key, value)).ToArray();
        byte[] Extra(Action<GgufWriter> extra) => ValidWriter(extra: extra).ToArray();
        int TokensType() => ValueTypeOffset(V(), "tokenizer.ggml.tokens");

        // Header
        yield return new("BadMagic", () => [.. "GGUX"u8, .. V()[4..]], "bad magic");
        yield return new("GgmlLegacyMagic", () => [.. "lmgg"u8, .. V()[4..]], "a GGUF file starts with 'GGUF'");
        yield return new("EmptyFile", () => [], "too small to be a GGUF file");
        yield return new("Version0", () => PatchUInt32(V(), VersionOffset, 0), "unsupported GGUF version 0");
        yield return new("Version1", () => PatchUInt32(V(), VersionOffset, 1), "GGUF version 1 is no longer supported");
        yield return new("Version4", () => PatchUInt32(V(), VersionOffset, 4), "unsupported GGUF version 4");
        yield return new("VersionBigEndian", () => PatchUInt32(V(), VersionOffset, 0x03000000), "big-endian");
        yield return new("HugeKvCount", () => PatchUInt64(V(), KvCountOffset, 1UL << 40), "metadata count 1099511627776 exceeds the limit");
        yield return new("ImplausibleKvCount", () => PatchUInt64(V(), KvCountOffset, 100_000), "metadata count 100000 is impossible");
        yield return new("HugeTensorCount", () => PatchUInt64(V(), TensorCountOffset, ulong.MaxValue), "tensor count 18446744073709551615 exceeds the limit");
        yield return new("ImplausibleTensorCount", () => PatchUInt64(V(), TensorCountOffset, 1000), "tensor count 1000 is impossible");
        yield return new("TensorCountOverLimit", V, "tensor count 3 exceeds the limit of 2", new GgufReaderLimits { MaxTensorCount = 2 });
        yield return new("KvCountOverLimit", V, "metadata count 10 exceeds the limit of 5", new GgufReaderLimits { MaxMetadataCount = 5 });

        // Truncation at distinct points
        yield return new("TruncatedAfterMagic", () => Truncate(6), "unexpected end of file while reading the version");
        yield return new("TruncatedInCounts", () => Truncate(20), "unexpected end of file while reading the metadata count");
        yield return new("TruncatedAfterHeader", () => Truncate(FirstKeyOffset), "metadata count 10 is impossible");
        yield return new("TruncatedInTokensArray", () => Truncate(TokensType() + 4 + 4 + 8 + 10), "array length 4 (string elements, at least 32 bytes) runs past the end of the file");
        yield return new("TruncatedInTensorInfo", () => Truncate(KeyOffset(V(), "blk.0.attn_q.weight") + 12), "tensor info #1: tensor name length 19 runs past the end of the file");
        yield return new("TruncatedBeforeData", () => Truncate(ValueTypeOffset(V(), "output_norm.weight") + 4 + 8 + 4 + 8), "tensor info #1 ('blk.0.attn_q.weight'): data offset 1024 is past the end of the file");
        yield return new("TruncatedAfterTensorInfos", () => Tensors(w => w.AddTensor("a", GgmlType.F32, [8]))[..^32], "tensor 'a': data");
        yield return new("TruncatedInTensorData", () => Truncate(V().Length - 8), "tensor 'output_norm.weight': data (256 bytes at data offset 5376) runs past the end of the file");

        // Keys and values
        yield return new("KeyLengthPastEof", () => PatchUInt64(V(), FirstKeyOffset, ulong.MaxValue), "key length 18446744073709551615 runs past the end of the file");
        yield return new("KeyOverLimit", V, "metadata key #0: key length 20 exceeds the limit of 10 bytes", new GgufReaderLimits { MaxKeyBytes = 10 });
        yield return new("EmptyKey", () => Extra(w => w.Add(string.Empty, "x")), "metadata key #10: key is empty");
        yield return new("InvalidUtf8Key", () =>
        {
            var b = (byte[])V().Clone();
            b[KeyOffset(b, "general.name") + 8] = 0xFF;
            return b;
        }, "key is not valid UTF-8");
        yield return new("DuplicateKey", () => Extra(w => w.Add("general.name", "again")), "duplicate key 'general.name' (already defined as metadata key #1)");
        yield return new("UnknownValueType", () => PatchUInt32(V(), ValueTypeOffset(V(), "general.name"), 13), "unknown value type 13");
        yield return new("StringLengthPastEof", () => PatchUInt64(V(), ValueTypeOffset(V(), "general.name") + 4, uint.MaxValue), "string length 4294967295 runs past the end of the file");
        yield return new("StringOverLimit", V, "metadata key #0 ('general.architecture'): string length 5 exceeds the limit of 4 bytes", new GgufReaderLimits { MaxStringBytes = 4 });
        yield return new("HugeArrayLength", () => PatchUInt64(V(), TokensType() + 8, 1UL << 62), "array length 4611686018427387904");
        yield return new("ArrayOverLimit", V, "array length 4 exceeds the limit of 2 elements", new GgufReaderLimits { MaxArrayLength = 2 });
        yield return new("UnknownArrayElementType", () => PatchUInt32(V(), TokensType() + 4, 99), "unknown array element type 99");
        yield return new("StringInArrayPastEof", () => PatchUInt64(V(), TokensType() + 4 + 4 + 8 + 8 + 5 + 8 + 3, 1UL << 33), "('tokenizer.ggml.tokens') element [2]: string length 8589934592 runs past the end");
        yield return new("NestedArraysTooDeep", () => Extra(w => w.Add("test.nested", GgufValue.FromArray(Nested(9)))), "arrays are nested 9 deep, more than the limit of 8");

        // Tensor infos
        yield return new("DuplicateTensor", () => Tensors(w => w.AddTensor("a", GgmlType.F32, [8]).AddTensor("a", GgmlType.F32, [8])), "duplicate tensor name 'a'");
        yield return new("EmptyTensorName", () => Tensors(w => w.AddTensor(string.Empty, GgmlType.F32, [8])), "tensor name is empty");
        yield return new("TensorNameTooLong", () => Tensors(w => w.AddTensor(new string('x', 64), GgmlType.F32, [8])), "tensor name length 64 exceeds the limit of 63 bytes");
        yield return new("ZeroDimensionCount", () => Tensors(w => w.AddTensor("a", GgmlType.F32, [])), "has 0 dimensions; a tensor must have 1 to 4");
        yield return new("FiveDimensions", () => Tensors(w => w.AddTensor("a", GgmlType.F32, [1, 1, 1, 1, 1])), "has 5 dimensions");
        yield return new("ZeroDimension", () => Tensors(w => w.AddTensor("a", GgmlType.F32, [4, 0])), "dimension 1 is zero");
        yield return new("NegativeDimension", () => Tensors(w => w.AddTensor("a", GgmlType.F32, [-1])), "dimension 0 is 18446744073709551615");
        yield return new("OverflowingDimensions", () => Tensors(w => w.AddTensor("a", GgmlType.F32, [1L << 32, 1L << 32, 1L << 32])), "element count (product of dimensions) exceeds the limit of 1099511627776");
        yield return new("TooManyElements", V, "tensor info #0 ('token_embd.weight'): element count (product of dimensions) exceeds the limit of 100", new GgufReaderLimits { MaxTensorElements = 100 });
        yield return new("UnknownGgmlType", () => Tensors(w => w.AddTensor("a", (GgmlType)99, [32])), "unknown ggml type 99");
        yield return new("GgmlTypeCount", () => Tensors(w => w.AddTensor("a", (GgmlType)GgmlTypeTraits.TypeCount, [32])), "unknown ggml type 43");
        yield return new("RemovedTypeQ4_2", () => Tensors(w => w.AddTensor("a", (GgmlType)4, [32])), "ggml type 4 (Q4_2) has been removed");
        yield return new("RemovedTypeQ4_3", () => Tensors(w => w.AddTensor("a", (GgmlType)5, [32])), "ggml type 5 (Q4_3) has been removed");
        yield return new("RemovedTypeQ4_0_4_4", () => Tensors(w => w.AddTensor("a", (GgmlType)31, [32])), "ggml type 31 (Q4_0_4_4) has been removed");
        yield return new("RowNotMultipleOfBlock", () => Tensors(w => w.AddTensor("a", GgmlType.Q4_K, [128, 2])), "row size 128 is not a multiple of the Q4_K block size 256");
        yield return new("MisalignedOffset", () => Tensors(w => w.AddTensor("a", GgmlType.F32, [8]).AddTensor("b", GgmlType.F32, [8], 48)), "data offset 48 is not a multiple of the alignment 32");
        yield return new("OffsetPastEof", () => Tensors(w => w.AddTensor("a", GgmlType.F32, [8], 1L << 40), dataLength: 64), "data offset 1099511627776 is past the end of the file");
        yield return new("SizePastEof", () => Tensors(w => w.AddTensor("a", GgmlType.F32, [1 << 20, 1024], 0), dataLength: 64), "data (4294967296 bytes at data offset 0) runs past the end of the file");
        yield return new("OverlappingTensors", () => Tensors(w => w.AddTensor("a", GgmlType.F32, [64], 0).AddTensor("b", GgmlType.F32, [64], 128)), "tensor 'b': data at offset 128 overlaps tensor 'a' (256 bytes at offset 0)");
        yield return new("SameOffsetTensors", () => Tensors(w => w.AddTensor("a", GgmlType.F32, [8], 0).AddTensor("b", GgmlType.F32, [8], 0)), "overlaps tensor");

        // Alignment
        yield return new("AlignmentZero", () => Extra(w => w.Add("general.alignment", 0u)), "alignment 0 is not a power of two");
        yield return new("AlignmentNotPowerOfTwo", () => Extra(w => w.Add("general.alignment", 48u)), "alignment 48 is not a power of two");
        yield return new("AlignmentWrongType", () => Extra(w => w.Add("general.alignment", GgufValue.FromUInt64(32))), "alignment must be a uint32 but is uint64");

        // Well-known keys
        yield return new("ArchitectureMissing", () => Meta("general.architecture", null), "required metadata key 'general.architecture' is missing");
        yield return new("ArchitectureWrongType", () => Meta("general.architecture", GgufValue.FromUInt32(1)), "metadata key 'general.architecture' must be a string but is uint32");
        yield return new("ArchitectureEmpty", () => Meta("general.architecture", GgufValue.FromString(string.Empty)), "metadata key 'general.architecture' is empty");
        yield return new("NameWrongType", () => Meta("general.name", GgufValue.FromBool(true)), "metadata key 'general.name' must be a string but is bool");
        yield return new("BlockCountWrongType", () => Meta("llama.block_count", GgufValue.FromString("two")), "metadata key 'llama.block_count' must be an integer but is string");
        yield return new("ContextLengthTooLarge", () => Meta("llama.context_length", GgufValue.FromUInt64(1UL << 40)), "'llama.context_length' has value 1099511627776, which does not fit in int32");
        yield return new("HeadCountNegative", () => Meta("llama.attention.head_count", GgufValue.FromInt32(-4)), "'llama.attention.head_count' must not be negative");
        yield return new("HeadCountFloat", () => Meta("llama.attention.head_count", GgufValue.FromFloat32(4)), "'llama.attention.head_count' must be an integer but is float32");
        yield return new("FileTypeWrongType", () => Meta("general.file_type", GgufValue.FromString("Q8_0")), "'general.file_type' must be an integer but is string");
        yield return new("TokensNotArray", () => Meta("tokenizer.ggml.tokens", GgufValue.FromString("abc")), "'tokenizer.ggml.tokens' must be an array but is string");
        yield return new("TokensWrongElementType", () => Meta("tokenizer.ggml.tokens", GgufValue.FromArray(GgufArray.Of(1, 2))), "'tokenizer.ggml.tokens' must be an array of String but holds int32 elements");
        yield return new("TokenizerModelWrongType", () => Meta("tokenizer.ggml.model", GgufValue.FromUInt8(1)), "'tokenizer.ggml.model' must be a string but is uint8");
        yield return new("ChatTemplateWrongType", () => Extra(w => w.Add("tokenizer.chat_template", 5u)), "'tokenizer.chat_template' must be a string but is uint32");
        yield return new("PoolingTypeWrongType", () => Extra(w => w.Add("llama.pooling_type", "mean")), "'llama.pooling_type' must be an integer but is string");
    }

    private static GgufArray Nested(int depth)
    {
        var array = GgufArray.Of(1);
        for (var i = 1; i < depth; i++)
        {
            array = GgufArray.Of(array);
        }

        return array;
    }

    public sealed record MalformedCase(string Name, Func<byte[]> Build, string Expected, GgufReaderLimits? Limits = null)
    {
        public override string ToString() => Name;
    }
}

/// <summary>Small checks of the value accessors and the writer.</summary>
public sealed class GgufValueTests
{
    [Fact]
    public void AsInt64_AnyIntegerType_ReturnsValue()
    {
        Assert.Equal(200, GgufValue.FromUInt8(200).AsInt64());
        Assert.Equal(-5, GgufValue.FromInt8(-5).AsInt64());
        Assert.Equal(60000, GgufValue.FromUInt16(60000).AsInt64());
        Assert.Equal(-3, GgufValue.FromInt16(-3).AsInt64());
        Assert.Equal(uint.MaxValue, GgufValue.FromUInt32(uint.MaxValue).AsInt64());
        Assert.Equal(-7, GgufValue.FromInt32(-7).AsInt64());
        Assert.Equal(long.MinValue, GgufValue.FromInt64(long.MinValue).AsInt64());
        Assert.Equal(ulong.MaxValue, GgufValue.FromUInt64(ulong.MaxValue).AsUInt64());
    }

    [Fact]
    public void Accessors_WrongType_ThrowInvalidModelFile()
    {
        Assert.Throws<InvalidModelFileException>(() => GgufValue.FromString("x").AsInt64());
        Assert.Throws<InvalidModelFileException>(() => GgufValue.FromUInt32(1).AsString());
        Assert.Throws<InvalidModelFileException>(() => GgufValue.FromUInt32(1).AsBool());
        Assert.Throws<InvalidModelFileException>(() => GgufValue.FromBool(true).AsArray());
        Assert.Throws<InvalidModelFileException>(() => GgufValue.FromString("x").AsDouble());
        Assert.Throws<InvalidModelFileException>(() => GgufValue.FromInt32(-1).AsUInt64());
        Assert.Throws<InvalidModelFileException>(() => GgufValue.FromUInt64(ulong.MaxValue).AsInt64());
        Assert.Throws<InvalidModelFileException>(() => GgufValue.FromInt64(1L << 40).AsInt32());
        Assert.Throws<InvalidModelFileException>(() => GgufArray.FromStrings(["a"]).GetItems<int>());
    }

    [Fact]
    public void AsDouble_NumericTypes_ReturnsValue()
    {
        Assert.Equal(1.5, GgufValue.FromFloat32(1.5f).AsDouble());
        Assert.Equal(2.25, GgufValue.FromFloat64(2.25).AsDouble());
        Assert.Equal(3, GgufValue.FromUInt16(3).AsDouble());
        Assert.True(GgufValue.FromBool(true).AsBool());
    }

    [Fact]
    public void Read_WrongTypeOnCustomKey_ThrowsWithKeyName()
    {
        var bytes = GgufTestData.ValidWriter(extra: w => w.Add("custom.flag", "yes")).ToArray();
        var file = GgufTestData.ReadBytes(bytes);

        var ex = Assert.Throws<InvalidModelFileException>(() => file.Metadata["custom.flag"].AsBool());

        Assert.Contains("metadata key 'custom.flag' must be a bool but is string", ex.Message, StringComparison.Ordinal);
        Assert.Equal("test.gguf", ex.FilePath);
    }

    [Fact]
    public void Read_NestedArraysWithinLimit_ReadBack()
    {
        var inner = GgufArray.Of<ushort>(1, 2, 3);
        var outer = GgufArray.Of(inner, GgufArray.FromStrings(["x", "yz"]));
        var bytes = GgufTestData.ValidWriter(extra: w => w.Add("test.nested", GgufValue.FromArray(outer))).ToArray();

        var file = GgufTestData.ReadBytes(bytes);

        var value = file.Metadata["test.nested"].AsArray();
        Assert.Equal(GgufValueType.Array, value.ElementType);
        Assert.Equal(inner, value[0].AsArray());
        Assert.Equal(["x", "yz"], value[1].AsArray().AsStrings());
    }

    [Fact]
    public void Read_PerLayerHeadCounts_UsesLargest()
    {
        var bytes = GgufTestData.ValidWriter(
            GgufTestData.Replace("llama.attention.head_count", GgufValue.FromArray(GgufArray.Of(4, 8, 6))),
            extra: w => w.Add("llama.attention.head_count_kv", GgufValue.FromArray(GgufArray.Of(0u, 2u)))).ToArray();

        var info = GgufTestData.ReadBytes(bytes).Info;

        Assert.Equal(8, info.HeadCount);
        Assert.Equal(2, info.HeadCountKv);
        Assert.Equal(8, info.HeadDimension);
    }

    [Fact]
    public void Read_NoFileType_UsesMostCommonMatrixType()
    {
        var bytes = GgufTestData.ValidWriter(
            GgufTestData.Replace("general.file_type", null),
            tensors: w => w
                .AddTensor("a", GgmlType.Q4_K, [256, 2])
                .AddTensor("b", GgmlType.Q4_K, [256, 2])
                .AddTensor("c", GgmlType.Q6_K, [256, 2])
                .AddTensor("n1", GgmlType.F32, [256])
                .AddTensor("n2", GgmlType.F32, [256])
                .AddTensor("n3", GgmlType.F32, [256])).ToArray();

        var info = GgufTestData.ReadBytes(bytes).Info;

        Assert.Null(info.FileType);
        Assert.Equal("Q4_K", info.Quantization);
    }

    [Theory]
    [InlineData(0, "F32")]
    [InlineData(1, "F16")]
    [InlineData(2, "Q4_0")]
    [InlineData(7, "Q8_0")]
    [InlineData(15, "Q4_K_M")]
    [InlineData(18, "Q6_K")]
    [InlineData(32, "BF16")]
    [InlineData(1024 + 15, "Q4_K_M")]
    public void GetLabel_KnownFileType_ReturnsName(int fileType, string expected)
    {
        Assert.Equal(expected, GgufFileTypes.GetLabel(fileType));
    }

    [Fact]
    public void GgmlTypeTraits_RemovedAndKnownIds_AreClassified()
    {
        Assert.False(GgmlTypeTraits.IsSupported((GgmlType)4));
        Assert.False(GgmlTypeTraits.IsSupported((GgmlType)5));
        Assert.False(GgmlTypeTraits.IsSupported((GgmlType)43));
        Assert.True(GgmlTypeTraits.IsSupported(GgmlType.Q4_K));
        Assert.Equal(144L * 2, GgmlTypeTraits.GetByteSize(GgmlType.Q4_K, 512));
        Assert.Equal(34L, GgmlTypeTraits.GetByteSize(GgmlType.Q8_0, 32));
        Assert.Null(GgmlTypeTraits.GetByteSize(GgmlType.Q8_0, 33));
        Assert.Equal(Enum.GetValues<GgmlType>().Length, Enumerable.Range(0, GgmlTypeTraits.TypeCount).Count(i => GgmlTypeTraits.IsSupported((GgmlType)i)));
    }
}
