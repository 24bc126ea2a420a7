using System.Buffers.Binary;
using System.Text;
using Enclave.Native.Gguf;
using Xunit;

namespace Enclave.Native.Tests.Gguf;

/// <summary>Shared helpers for the GGUF tests: the test model folder, a small valid crafted file, and byte patching.</summary>
internal static class GgufTestData
{
    public const string ModelsEnvironmentVariable = "ENCLAVE_TEST_MODELS";

    private static readonly Lazy<string?> ModelsDir = new(FindModelsDirectory);

    /// <summary>
    /// The folder with the test GGUF models: $ENCLAVE_TEST_MODELS, else the first <c>shared/models</c> folder found walking up
    /// from the test binaries (the repository's sibling <c>shared/models</c>). Fails the test (never skips) when missing.
    /// </summary>
    public static string ModelsDirectory
    {
        get
        {
            var dir = ModelsDir.Value;
            if (dir is null)
            {
                var env = Environment.GetEnvironmentVariable(ModelsEnvironmentVariable);
                Assert.Fail(string.IsNullOrEmpty(env)
                    ? $"Test models folder not found: no 'shared/models' folder above {AppContext.BaseDirectory}. Set {ModelsEnvironmentVariable} to the folder holding stories260K.gguf and the other test GGUF files."
                    : $"Test models folder not found: {ModelsEnvironmentVariable}='{env}' does not exist.");
            }

            return dir!;
        }
    }

    public static string ModelPath(string fileName)
    {
        var path = Path.Combine(ModelsDirectory, fileName);
        Assert.True(File.Exists(path), $"Test model '{fileName}' is missing from {ModelsDirectory}.");
        return path;
    }

    /// <summary>
    /// A small valid llama-like file with every interesting metadata shape and three tensors. <paramref name="replace"/> may
    /// change a standard entry's value (return null to drop it); <paramref name="extra"/> appends entries;
    /// <paramref name="tensors"/> replaces the standard tensors.
    /// </summary>
    public static GgufWriter ValidWriter(
        Func<string, GgufValue, GgufValue?>? replace = null,
        Action<GgufWriter>? extra = null,
        Action<GgufWriter>? tensors = null)
    {
        var w = new GgufWriter();
        void Add(string key, GgufValue value)
        {
            var v = replace is null ? value : replace(key, value);
            if (v is not null)
            {
                w.Add(key, v);
            }
        }

        Add("general.architecture", GgufValue.FromString("llama"));
        Add("general.name", GgufValue.FromString("tiny"));
        Add("general.file_type", GgufValue.FromUInt32(7));
        Add("llama.block_count", GgufValue.FromUInt32(2));
        Add("llama.context_length", GgufValue.FromUInt32(128));
        Add("llama.embedding_length", GgufValue.FromUInt32(64));
        Add("llama.attention.head_count", GgufValue.FromUInt32(4));
        Add("tokenizer.ggml.model", GgufValue.FromString("llama"));
        Add("tokenizer.ggml.tokens", GgufValue.FromArray(GgufArray.FromStrings(["<unk>", "<s>", "</s>", "a"])));
        Add("tokenizer.ggml.scores", GgufValue.FromArray(GgufArray.Of(0f, 0f, 0f, -1.5f)));
        extra?.Invoke(w);
        if (tensors is null)
        {
            w.AddTensor("token_embd.weight", GgmlType.F32, [64, 4])
                .AddTensor("blk.0.attn_q.weight", GgmlType.Q8_0, [64, 64])
                .AddTensor("output_norm.weight", GgmlType.F32, [64]);
        }
        else
        {
            tensors(w);
        }

        return w;
    }

    /// <summary>Replaces the value of <paramref name="key"/> in <see cref="ValidWriter"/> (null drops the key).</summary>
    public static Func<string, GgufValue, GgufValue?> Replace(string key, GgufValue? value) =>
        (k, v) => k == key ? value : v;

    public static byte[] ValidBytes() => ValidWriter().ToArray();

    public static GgufFile ReadBytes(byte[] bytes, GgufReaderLimits? limits = null)
    {
        using var ms = new MemoryStream(bytes, writable: false);
        return GgufReader.Read(ms, bytes.Length, "test.gguf", limits);
    }

    /// <summary>Offset of the first occurrence of <paramref name="key"/>'s UTF-8 bytes preceded by its uint64 length.</summary>
    public static int KeyOffset(byte[] bytes, string key)
    {
        var needle = new byte[8 + Encoding.UTF8.GetByteCount(key)];
        BinaryPrimitives.WriteUInt64LittleEndian(needle, (ulong)(needle.Length - 8));
        Encoding.UTF8.GetBytes(key, needle.AsSpan(8));
        var index = bytes.AsSpan().IndexOf(needle);
        Assert.True(index >= 0, $"'{key}' not found in the crafted file");
        return index;
    }

    /// <summary>Offset just after <paramref name="key"/>'s bytes, which is where its value type (uint32) starts.</summary>
    public static int ValueTypeOffset(byte[] bytes, string key) => KeyOffset(bytes, key) + 8 + Encoding.UTF8.GetByteCount(key);

    public static byte[] PatchUInt32(byte[] bytes, int offset, uint value)
    {
        var copy = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(offset), value);
        return copy;
    }

    public static byte[] PatchUInt64(byte[] bytes, int offset, ulong value)
    {
        var copy = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(offset), value);
        return copy;
    }

    private static string? FindModelsDirectory()
    {
        var env = Environment.GetEnvironmentVariable(ModelsEnvironmentVariable);
        if (!string.IsNullOrEmpty(env))
        {
            return Directory.Exists(env) ? Path.GetFullPath(env) : null;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "models");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>A read-only, forward-only stream over several byte segments, so fuzz tests avoid copying a whole model file.</summary>
internal sealed class SegmentStream : Stream
{
    private readonly ReadOnlyMemory<byte>[] _segments;
    private int _segment;
    private int _offset;
    private long _position;

    public SegmentStream(params ReadOnlyMemory<byte>[] segments)
    {
        _segments = segments;
        Length = segments.Sum(s => (long)s.Length);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length { get; }

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        while (_segment < _segments.Length && _offset >= _segments[_segment].Length)
        {
            _segment++;
            _offset = 0;
        }

        if (_segment >= _segments.Length || buffer.IsEmpty)
        {
            return 0;
        }

        var source = _segments[_segment].Span[_offset..];
        var n = Math.Min(source.Length, buffer.Length);
        source[..n].CopyTo(buffer);
        _offset += n;
        _position += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
