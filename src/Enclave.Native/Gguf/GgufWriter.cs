using System.Buffers.Binary;
using System.Text;

namespace Enclave.Native.Gguf;

/// <summary>
/// Writes GGUF files from metadata and tensor infos, with zero-filled tensor data. It writes exactly what it is given and
/// does not validate (duplicate keys, odd types and explicit offsets are written as-is), so tests can craft malformed files.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, GgufValue>> _metadata = [];
    private readonly List<Tensor> _tensors = [];

    /// <summary>The version written in the header (3 by default).</summary>
    public uint Version { get; set; } = 3;

    /// <summary>
    /// Number of data bytes written after the (aligned) start of the data section. Null (the default) writes every tensor's
    /// bytes, each padded to the alignment.
    /// </summary>
    public long? DataLength { get; set; }

    /// <summary>Metadata entries in the order they will be written.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata => _metadata;

    /// <summary>
    /// The alignment used for automatic offsets and padding: <c>general.alignment</c> when it is a power-of-two uint32,
    /// else 32.
    /// </summary>
    public uint Alignment
    {
        get
        {
            var entry = _metadata.LastOrDefault(kv => kv.Key == GgufReader.AlignmentKey);
            return entry.Value is { Type: GgufValueType.UInt32, Value: uint a } && a != 0 && (a & (a - 1)) == 0 ? a : GgufReader.DefaultAlignment;
        }
    }

    /// <summary>Appends a metadata entry (duplicates are allowed and written).</summary>
    public GgufWriter Add(string key, GgufValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        _metadata.Add(new(key, value));
        return this;
    }

    public GgufWriter Add(string key, string value) => Add(key, GgufValue.FromString(value));

    public GgufWriter Add(string key, uint value) => Add(key, GgufValue.FromUInt32(value));

    /// <summary>
    /// Appends a tensor info. <paramref name="offset"/> is relative to the data section; when null it is placed after the
    /// previous tensor, aligned.
    /// </summary>
    public GgufWriter AddTensor(string name, GgmlType type, IReadOnlyList<long> dimensions, long? offset = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(dimensions);
        _tensors.Add(new Tensor(name, type, [.. dimensions], offset));
        return this;
    }

    /// <summary>Writes the file to <paramref name="stream"/>.</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var alignment = Alignment;
        var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(GgufReader.Magic);
        w.Write(Version);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            WriteString(w, key);
            w.Write((uint)value.Type);
            WriteValue(w, value.Type, value.Value);
        }

        long next = 0;
        long dataEnd = 0;
        foreach (var t in _tensors)
        {
            var size = ByteSize(t);
            var offset = t.Offset ?? next;
            WriteString(w, t.Name);
            w.Write((uint)t.Dimensions.Length);
            foreach (var d in t.Dimensions)
            {
                w.Write(d);
            }

            w.Write((uint)t.Type);
            w.Write(offset);
            next = AlignUp(offset + size, alignment);
            dataEnd = Math.Max(dataEnd, next);
        }

        w.Flush();
        var headerEnd = stream.Position;
        var dataLength = DataLength ?? (_tensors.Count == 0 ? 0 : dataEnd);
        var zeros = new byte[64 * 1024];
        var remaining = AlignUp(headerEnd, alignment) - headerEnd + dataLength;
        if (_tensors.Count == 0 && DataLength is null)
        {
            remaining = 0;
        }

        while (remaining > 0)
        {
            var chunk = (int)Math.Min(zeros.Length, remaining);
            stream.Write(zeros, 0, chunk);
            remaining -= chunk;
        }
    }

    /// <summary>Returns the file as a byte array.</summary>
    public byte[] ToArray()
    {
        using var ms = new MemoryStream();
        WriteTo(ms);
        return ms.ToArray();
    }

    /// <summary>Writes the file to <paramref name="path"/>.</summary>
    public void Save(string path)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        WriteTo(fs);
    }

    private static long ByteSize(Tensor t)
    {
        if (t.Dimensions.Length == 0 || t.Dimensions.Any(d => d <= 0))
        {
            return 0;
        }

        long count = 1;
        foreach (var d in t.Dimensions)
        {
            if (count > long.MaxValue / d)
            {
                return 0;
            }

            count *= d;
        }

        return GgmlTypeTraits.GetByteSize(t.Type, count) ?? 0;
    }

    private static long AlignUp(long value, uint alignment) => (value + alignment - 1) / alignment * alignment;

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValueType type, object value)
    {
        switch (value)
        {
            case byte v: w.Write(v); break;
            case sbyte v: w.Write(v); break;
            case ushort v: w.Write(v); break;
            case short v: w.Write(v); break;
            case uint v: w.Write(v); break;
            case int v: w.Write(v); break;
            case float v: w.Write(v); break;
            case bool v: w.Write((byte)(v ? 1 : 0)); break;
            case string v: WriteString(w, v); break;
            case ulong v: w.Write(v); break;
            case long v: w.Write(v); break;
            case double v: w.Write(v); break;
            case GgufArray a:
                w.Write((uint)a.ElementType);
                w.Write((ulong)a.Count);
                foreach (var item in a.Items)
                {
                    WriteValue(w, a.ElementType, item);
                }

                break;
            default:
                throw new ArgumentException($"Cannot write a {value.GetType().Name} as GGUF {type}.", nameof(value));
        }
    }

    private sealed record Tensor(string Name, GgmlType Type, long[] Dimensions, long? Offset);
}
