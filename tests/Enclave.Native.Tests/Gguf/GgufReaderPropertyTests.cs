using System.Buffers.Binary;
using CsCheck;
using Enclave.Native.Gguf;
using Xunit;
using Xunit.Abstractions;

namespace Enclave.Native.Tests.Gguf;

/// <summary>CsCheck property tests: writer/reader round trips and mutation fuzzing that must only ever yield InvalidModelFileException.</summary>
public sealed class GgufReaderPropertyTests(ITestOutputHelper output)
{
    private static readonly GgmlType[] SupportedTypes = Enum.GetValues<GgmlType>();

    private static readonly Gen<string> Text = Gen.Char[' ', '\uD7FF'].Array[0, 12].Select(c => new string(c));

    private static readonly Gen<string> AsciiName = Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789._"].Array[0, 10].Select(c => new string(c));

    private static readonly Gen<GgufValue> Scalar = Gen.OneOf<GgufValue>(
        Gen.Byte.Select(GgufValue.FromUInt8),
        Gen.SByte.Select(GgufValue.FromInt8),
        Gen.UShort.Select(GgufValue.FromUInt16),
        Gen.Short.Select(GgufValue.FromInt16),
        Gen.UInt.Select(GgufValue.FromUInt32),
        Gen.Int.Select(GgufValue.FromInt32),
        Gen.Int.Select(bits => GgufValue.FromFloat32(BitConverter.Int32BitsToSingle(bits))),
        Gen.Bool.Select(GgufValue.FromBool),
        Text.Select(GgufValue.FromString),
        Gen.ULong.Select(GgufValue.FromUInt64),
        Gen.Long.Select(GgufValue.FromInt64),
        Gen.Long.Select(bits => GgufValue.FromFloat64(BitConverter.Int64BitsToDouble(bits))));

    private static readonly Gen<GgufValue> Value = Gen.Frequency<GgufValue>((4, Scalar), (1, ArrayOf(3).Select(GgufValue.FromArray)));

    private static readonly Gen<RoundTripSpec> Spec =
        Gen.Select(
            Gen.OneOf("llama", "bert", "qwen2"),
            Gen.OneOf(2u, 3u),
            Gen.OneOf(1u, 8u, 32u, 64u, 256u),
            Gen.Select(Value, AsciiName).Array[0, 10],
            Gen.Select(Gen.Int[0, SupportedTypes.Length - 1], Gen.Int[1, 2], Gen.Int[1, 3].Array[0, 3], AsciiName).Array[0, 6],
            (arch, version, alignment, metadata, tensors) => new RoundTripSpec(
                arch,
                version,
                alignment,
                [.. metadata.Select((m, i) => ($"test.{i}.{m.Item2}", m.Item1))],
                [.. tensors.Select((t, i) =>
                {
                    var type = SupportedTypes[t.Item1];
                    long[] dims = [GgmlTypeTraits.GetBlockSize(type) * t.Item2, .. t.Item3.Select(d => (long)d)];
                    return ($"t{i}.{t.Item4}", type, dims);
                })]));

    private static readonly Lazy<byte[]> Stories = new(() => File.ReadAllBytes(GgufTestData.ModelPath("stories260K.gguf")));

    private static readonly Gen<(int Kind, int Position, ulong Value)[]> Mutations =
        Gen.Select(Gen.Int[0, 6], Gen.Int[0, int.MaxValue], Gen.ULong, (k, p, v) => (k, p, v)).Array[1, 4];

    private static readonly ulong[] Interesting =
        [0, 1, 2, 3, 4, 5, 31, 32, 33, 43, 0x7F, 0xFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1UL << 32, 1UL << 40, long.MaxValue, 1UL << 63, ulong.MaxValue];

    [Fact]
    public void Read_RandomValidFile_RoundTrips()
    {
        Spec.Sample(spec =>
        {
            var writer = new GgufWriter { Version = spec.Version };
            writer.Add("general.architecture", spec.Architecture);
            if (spec.Alignment != GgufReader.DefaultAlignment)
            {
                writer.Add(GgufReader.AlignmentKey, spec.Alignment);
            }

            foreach (var (key, value) in spec.Metadata)
            {
                writer.Add(key, value);
            }

            foreach (var (name, type, dims) in spec.Tensors)
            {
                writer.AddTensor(name, type, dims);
            }

            var bytes = writer.ToArray();
            var file = GgufTestData.ReadBytes(bytes);

            Assert.Equal(spec.Version, file.Version);
            Assert.Equal(spec.Alignment, file.Alignment);
            Assert.Equal(bytes.Length, file.FileSize);
            Assert.Equal(writer.Metadata.Select(kv => kv.Key), file.MetadataKeys);
            foreach (var (key, value) in writer.Metadata)
            {
                Assert.Equal(value, file.Metadata[key]);
            }

            Assert.Equal(spec.Tensors.Count, file.Tensors.Count);
            long expectedOffset = 0;
            for (var i = 0; i < spec.Tensors.Count; i++)
            {
                var (name, type, dims) = spec.Tensors[i];
                var t = file.Tensors[i];
                Assert.Equal(name, t.Name);
                Assert.Equal(type, t.Type);
                Assert.Equal(dims, t.Dimensions);
                Assert.Equal(expectedOffset, t.Offset);
                Assert.Equal(GgmlTypeTraits.GetByteSize(type, dims.Aggregate(1L, (a, b) => a * b)), t.ByteSize);
                expectedOffset += (t.ByteSize + spec.Alignment - 1) / spec.Alignment * spec.Alignment;
            }

            Assert.Equal(spec.Tensors.Sum(t => t.Dimensions.Aggregate(1L, (a, b) => a * b)), file.Info.ParameterCount);
            Assert.Equal(spec.Architecture, file.Info.Architecture);
            if (spec.Tensors.Count > 0)
            {
                Assert.Equal(0, file.DataOffset % spec.Alignment);
            }
        }, iter: 400);
    }

    [Fact]
    public void Read_MutatedRealModelHeader_OnlyThrowsInvalidModelFile()
    {
        var original = Stories.Value;
        var dataOffset = (int)GgufReader.Read(GgufTestData.ModelPath("stories260K.gguf")).DataOffset;
        var header = original.AsMemory(0, dataOffset);
        var tail = original.AsMemory(dataOffset);
        var outcomes = new int[2];

        Mutations.Sample(mutations =>
        {
            var (mutated, totalLength) = Mutate(header.ToArray(), original.Length - dataOffset, mutations);
            var headerPart = mutated.AsMemory(0, (int)Math.Min(mutated.Length, totalLength));
            var tailPart = tail[..(int)Math.Max(0, totalLength - headerPart.Length)];
            using var stream = new SegmentStream(headerPart, tailPart);
            Interlocked.Increment(ref outcomes[TryRead(stream, totalLength) ? 0 : 1]);
        }, iter: 2500);

        output.WriteLine($"accepted {outcomes[0]}, rejected {outcomes[1]}");
        Assert.True(outcomes[1] > 0, "no mutation was rejected; the fuzzer is not exercising the validator");
    }

    [Fact]
    public void Read_MutatedCraftedFile_OnlyThrowsInvalidModelFile()
    {
        var writer = GgufTestData.ValidWriter(
            extra: w => w
                .Add("test.nested", GgufValue.FromArray(GgufArray.Of(GgufArray.Of(1, 2), GgufArray.FromStrings(["x"]))))
                .Add("test.f64", GgufValue.FromFloat64(1.5))
                .Add("test.bools", GgufValue.FromArray(GgufArray.Of(true, false)))
                .Add("test.i64s", GgufValue.FromArray(GgufArray.Of(-1L, 5L)))
                .Add("llama.attention.head_count_kv", GgufValue.FromArray(GgufArray.Of(2u, 4u))),
            tensors: w => w
                .AddTensor("a", GgmlType.Q4_0, [64, 2])
                .AddTensor("b", GgmlType.Q4_K, [256])
                .AddTensor("c", GgmlType.F16, [8, 2, 2, 2])
                .AddTensor("d", GgmlType.IQ4_NL, [32]));
        var original = writer.ToArray();
        var dataOffset = (int)GgufTestData.ReadBytes(original).DataOffset;
        var header = original.AsMemory(0, dataOffset);
        var tail = original.AsMemory(dataOffset);
        var outcomes = new int[2];

        Mutations.Sample(mutations =>
        {
            var (mutated, totalLength) = Mutate(header.ToArray(), tail.Length, mutations);
            var headerPart = mutated.AsMemory(0, (int)Math.Min(mutated.Length, totalLength));
            var tailPart = tail[..(int)Math.Max(0, totalLength - headerPart.Length)];
            using var stream = new SegmentStream(headerPart, tailPart);
            Interlocked.Increment(ref outcomes[TryRead(stream, totalLength) ? 0 : 1]);
        }, iter: 4000);

        output.WriteLine($"accepted {outcomes[0]}, rejected {outcomes[1]}");
        Assert.True(outcomes[1] > 0, "no mutation was rejected");
    }

    private static bool TryRead(Stream stream, long length)
    {
        try
        {
            var file = GgufReader.Read(stream, length, "fuzz.gguf");
            _ = file.Info;
            foreach (var value in file.Metadata.Values)
            {
                _ = value.ToString();
            }

            return true;
        }
        catch (InvalidModelFileException ex)
        {
            Assert.Equal("invalid_model_file", ex.Code);
            Assert.False(string.IsNullOrWhiteSpace(ex.Message));
            return false;
        }
    }

    /// <summary>Applies byte sets, word sets, insertions, deletions and a truncation; returns the bytes and the total length (bytes + tail).</summary>
    private static (byte[] Bytes, long TotalLength) Mutate(byte[] bytes, long tailLength, (int Kind, int Position, ulong Value)[] mutations)
    {
        var list = new List<byte>(bytes);
        long? truncateAt = null;
        foreach (var (kind, position, value) in mutations)
        {
            var at = list.Count == 0 ? 0 : position % list.Count;
            switch (kind)
            {
                case 0:
                    if (list.Count > 0)
                    {
                        list[at] = (byte)value;
                    }

                    break;
                case 1:
                case 2:
                    {
                        var word = Interesting[value % (ulong)Interesting.Length];
                        var width = kind == 1 ? 4 : 8;
                        Span<byte> buf = stackalloc byte[8];
                        BinaryPrimitives.WriteUInt64LittleEndian(buf, word);
                        for (var i = 0; i < width && at + i < list.Count; i++)
                        {
                            list[at + i] = buf[i];
                        }

                        break;
                    }

                case 3:
                    {
                        var count = (int)(value % 16) + 1;
                        var random = new Random(position);
                        var inserted = new byte[count];
                        random.NextBytes(inserted);
                        list.InsertRange(at, inserted);
                        break;
                    }

                case 4:
                    list.RemoveRange(at, Math.Min((int)(value % 16) + 1, list.Count - at));
                    break;
                case 5:
                    {
                        // A small uint32 (type ids, dimension counts, tiny lengths).
                        Span<byte> buf = stackalloc byte[4];
                        BinaryPrimitives.WriteUInt32LittleEndian(buf, (uint)(value % 48));
                        for (var i = 0; i < 4 && at + i < list.Count; i++)
                        {
                            list[at + i] = buf[i];
                        }

                        break;
                    }

                default:
                    truncateAt = (long)(value % (ulong)(list.Count + tailLength + 1));
                    break;
            }
        }

        var total = list.Count + tailLength;
        return ([.. list], truncateAt is { } t ? Math.Min(t, total) : total);
    }

    private static Gen<GgufArray> ArrayOf(int depth)
    {
        var gens = new List<Gen<GgufArray>>
        {
            Gen.Byte.Array[0, 6].Select(a => GgufArray.Of(a)),
            Gen.SByte.Array[0, 6].Select(a => GgufArray.Of(a)),
            Gen.UShort.Array[0, 6].Select(a => GgufArray.Of(a)),
            Gen.Short.Array[0, 6].Select(a => GgufArray.Of(a)),
            Gen.UInt.Array[0, 6].Select(a => GgufArray.Of(a)),
            Gen.Int.Array[0, 6].Select(a => GgufArray.Of(a)),
            Gen.Int.Array[0, 6].Select(a => GgufArray.Of(a.Select(BitConverter.Int32BitsToSingle).ToArray())),
            Gen.Bool.Array[0, 6].Select(a => GgufArray.Of(a)),
            Text.Array[0, 6].Select(a => GgufArray.Of(a)),
            Gen.ULong.Array[0, 6].Select(a => GgufArray.Of(a)),
            Gen.Long.Array[0, 6].Select(a => GgufArray.Of(a)),
            Gen.Long.Array[0, 6].Select(a => GgufArray.Of(a.Select(BitConverter.Int64BitsToDouble).ToArray())),
        };
        if (depth > 1)
        {
            gens.Add(ArrayOf(depth - 1).Array[0, 3].Select(a => GgufArray.Of(a)));
        }

        return Gen.OneOf<GgufArray>([.. gens]);
    }

    private sealed record RoundTripSpec(
        string Architecture,
        uint Version,
        uint Alignment,
        IReadOnlyList<(string Key, GgufValue Value)> Metadata,
        IReadOnlyList<(string Name, GgmlType Type, long[] Dimensions)> Tensors);
}
