using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Enclave.Native.Gguf;

/// <summary>
/// Reads and validates the header of a GGUF file (magic, version, metadata, tensor infos, layout) without reading tensor data.
/// Every malformed input is reported as <see cref="InvalidModelFileException"/>; nothing is allocated from a length that has
/// not first been checked against the bytes left in the file and against <see cref="GgufReaderLimits"/>.
/// </summary>
public static class GgufReader
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;

    /// <summary>The alignment used when <c>general.alignment</c> is absent.</summary>
    public const uint DefaultAlignment = 32;

    /// <summary>The metadata key that sets the data alignment.</summary>
    public const string AlignmentKey = "general.alignment";

    /// <summary>
    /// Reads and validates the GGUF file at <paramref name="path"/>. I/O failures (missing file, no permission) are not
    /// format errors and propagate as the usual I/O exceptions.
    /// </summary>
    public static GgufFile Read(string path, GgufReaderLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return Read(stream, stream.Length, path, limits);
    }

    /// <summary>
    /// Reads and validates a GGUF file from <paramref name="stream"/>, which must be positioned at the start of the file;
    /// <paramref name="length"/> is the file's total size. The stream is read sequentially and never seeked.
    /// </summary>
    public static GgufFile Read(Stream stream, long length, string displayName, GgufReaderLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(displayName);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        limits ??= GgufReaderLimits.Default;
        limits.Validate();
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(length, 16, Parser.BufferSize));
        try
        {
            return new Parser(stream, length, displayName, limits, buffer).Parse();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed class Parser
    {
        public const int BufferSize = 64 * 1024;
        private const int MinKeyValueSize = 8 + 1 + 4 + 1;
        private const int MinTensorInfoSize = 8 + 1 + 4 + 8 + 4 + 8;
        private const int MaxNameInMessage = 120;

        private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        private static readonly UTF8Encoding LenientUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

        private readonly Stream _stream;
        private readonly long _length;
        private readonly string _path;
        private readonly GgufReaderLimits _limits;
        private readonly byte[] _buffer;
        private readonly List<long> _elementPath = [];
        private int _bufferPos;
        private int _bufferEnd;
        private long _position;
        private string _where = "header";

        public Parser(Stream stream, long length, string path, GgufReaderLimits limits, byte[] buffer)
        {
            _buffer = buffer;
            _stream = stream;
            _length = length;
            _path = path;
            _limits = limits;
        }

        private long Remaining => _length - _position;

        public GgufFile Parse()
        {
            var (version, tensorCount, kvCount) = ReadHeader();
            var metadata = ReadMetadata(kvCount);
            var alignment = GetAlignment(metadata);
            var tensors = ReadTensorInfos(tensorCount, alignment);

            // Like gguf_get_data_offset: padded to the alignment only when there is tensor data.
            var dataOffset = tensors.Count > 0 ? AlignUp(_position, alignment) : _position;
            CheckTensorLayout(tensors, dataOffset);
            return new GgufFile(_path, version, _length, alignment, dataOffset, metadata, tensors);
        }

        private (uint Version, long TensorCount, long KvCount) ReadHeader()
        {
            _where = "header";
            if (_length < 4)
            {
                throw Fail($"the file is {_length} bytes long, too small to be a GGUF file", 0);
            }

            Ensure(4, "magic");
            var magic = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_bufferPos, 4));
            if (magic != Magic)
            {
                var shown = string.Concat(_buffer.AsSpan(_bufferPos, 4).ToArray().Select(b => b is >= 0x20 and < 0x7F ? ((char)b).ToString() : "?"));
                throw Fail($"bad magic 0x{magic:X8} ('{shown}'); a GGUF file starts with 'GGUF'", 0);
            }

            Advance(4);
            var version = ReadUInt32("version");
            if (version == 1)
            {
                throw Fail("GGUF version 1 is no longer supported (supported versions: 2, 3)", 4);
            }

            if (version is not (2 or 3))
            {
                var swapped = BinaryPrimitives.ReverseEndianness(version);
                var hint = swapped is 2 or 3 ? "; the file looks big-endian, which is not supported" : string.Empty;
                throw Fail($"unsupported GGUF version {version} (supported versions: 2, 3){hint}", 4);
            }

            var tensorCount = ReadUInt64("tensor count");
            var kvCount = ReadUInt64("metadata count");

            if (kvCount > (ulong)_limits.MaxMetadataCount)
            {
                throw Fail($"metadata count {kvCount} exceeds the limit of {_limits.MaxMetadataCount}", 16);
            }

            if (tensorCount > (ulong)_limits.MaxTensorCount)
            {
                throw Fail($"tensor count {tensorCount} exceeds the limit of {_limits.MaxTensorCount}", 8);
            }

            var kvMin = (UInt128)kvCount * MinKeyValueSize;
            if (kvMin > (UInt128)Remaining)
            {
                throw Fail($"metadata count {kvCount} is impossible: {kvCount} key/value pairs need at least {kvMin} bytes but only {Remaining} remain", 16);
            }

            var tensorMin = (UInt128)tensorCount * MinTensorInfoSize;
            if (kvMin + tensorMin > (UInt128)Remaining)
            {
                throw Fail($"tensor count {tensorCount} is impossible: {tensorCount} tensor infos need at least {tensorMin} bytes but only {(UInt128)Remaining - kvMin} remain after the metadata", 8);
            }

            return (version, (long)tensorCount, (long)kvCount);
        }

        private OrderedDictionary<string, GgufValue> ReadMetadata(long count)
        {
            var metadata = new OrderedDictionary<string, GgufValue>((int)Math.Min(count, 4096), StringComparer.Ordinal);
            for (long i = 0; i < count; i++)
            {
                _where = $"metadata key #{i}";
                var keyOffset = _position;
                var key = ReadName(_limits.MaxKeyBytes, "key");
                _where = $"metadata key #{i} ('{Shorten(key)}')";
                if (metadata.ContainsKey(key))
                {
                    throw Fail($"duplicate key '{Shorten(key)}' (already defined as metadata key #{metadata.IndexOf(key)})", keyOffset);
                }

                var type = ReadValueType("value type");
                var context = new GgufValueContext(_path, $"metadata key '{Shorten(key)}'", keyOffset);
                var value = ReadValue(type, 0, context);
                metadata.Add(key, value);
            }

            return metadata;
        }

        private uint GetAlignment(OrderedDictionary<string, GgufValue> metadata)
        {
            if (!metadata.TryGetValue(AlignmentKey, out var value))
            {
                return DefaultAlignment;
            }

            _where = $"metadata key '{AlignmentKey}'";
            var offset = value.Context?.Offset ?? 0;
            if (value.Type != GgufValueType.UInt32)
            {
                throw Fail($"alignment must be a uint32 but is {GgufValueTypes.Name(value.Type)}", offset);
            }

            var alignment = (uint)value.Value;
            if (alignment == 0 || (alignment & (alignment - 1)) != 0)
            {
                throw Fail($"alignment {alignment} is not a power of two", offset);
            }

            return alignment;
        }

        private List<GgufTensorInfo> ReadTensorInfos(long count, uint alignment)
        {
            var tensors = new List<GgufTensorInfo>((int)Math.Min(count, 4096));
            var names = new Dictionary<string, long>(StringComparer.Ordinal);
            Span<long> dims = stackalloc long[4];
            for (long i = 0; i < count; i++)
            {
                _where = $"tensor info #{i}";
                var infoOffset = _position;
                var name = ReadName(_limits.MaxTensorNameBytes, "tensor name");
                _where = $"tensor info #{i} ('{Shorten(name)}')";
                if (!names.TryAdd(name, i))
                {
                    throw Fail($"duplicate tensor name '{Shorten(name)}' (already used by tensor info #{names[name]})", infoOffset);
                }

                var dimsOffset = _position;
                var nDims = ReadUInt32("dimension count");
                if (nDims is 0 or > 4)
                {
                    throw Fail($"has {nDims} dimensions; a tensor must have 1 to 4", dimsOffset);
                }

                UInt128 elements = 1;
                for (var d = 0; d < nDims; d++)
                {
                    var dimOffset = _position;
                    var dim = ReadUInt64($"dimension {d}");
                    if (dim == 0)
                    {
                        throw Fail($"dimension {d} is zero", dimOffset);
                    }

                    if (dim > (ulong)_limits.MaxTensorElements)
                    {
                        throw Fail($"dimension {d} is {dim}, more than the limit of {_limits.MaxTensorElements} elements per tensor", dimOffset);
                    }

                    elements *= dim;
                    if (elements > (ulong)_limits.MaxTensorElements)
                    {
                        throw Fail($"element count (product of dimensions) exceeds the limit of {_limits.MaxTensorElements} elements per tensor", dimOffset);
                    }

                    dims[d] = (long)dim;
                }

                var typeOffset = _position;
                var typeId = ReadUInt32("ggml type");
                var type = (GgmlType)typeId;
                if (typeId >= GgmlTypeTraits.TypeCount)
                {
                    throw Fail($"unknown ggml type {typeId} (known type ids are below {GgmlTypeTraits.TypeCount})", typeOffset);
                }

                if (!GgmlTypeTraits.IsSupported(type))
                {
                    throw Fail($"ggml type {typeId} ({RemovedTypeName(typeId)}) has been removed from ggml and is not supported", typeOffset);
                }

                var blockSize = GgmlTypeTraits.GetBlockSize(type);
                if (dims[0] % blockSize != 0)
                {
                    throw Fail($"row size {dims[0]} is not a multiple of the {type} block size {blockSize}", dimsOffset);
                }

                var byteSize = GgmlTypeTraits.GetByteSize(type, (long)elements)
                    ?? throw Fail($"byte size of {elements} {type} elements overflows", dimsOffset);

                var offsetPos = _position;
                var offset = ReadUInt64("data offset");
                if (offset % alignment != 0)
                {
                    throw Fail($"data offset {offset} is not a multiple of the alignment {alignment}", offsetPos);
                }

                if (offset > (ulong)_length)
                {
                    throw Fail($"data offset {offset} is past the end of the file ({_length} bytes)", offsetPos);
                }

                tensors.Add(new GgufTensorInfo(name, dims[..(int)nDims].ToArray(), type, (long)offset, byteSize));
            }

            return tensors;
        }

        private void CheckTensorLayout(List<GgufTensorInfo> tensors, long dataOffset)
        {
            if (tensors.Count == 0)
            {
                return;
            }

            var dataSize = _length - dataOffset;
            foreach (var t in tensors)
            {
                _where = $"tensor '{Shorten(t.Name)}'";
                if (dataSize < 0 || t.Offset > dataSize)
                {
                    throw Fail($"data offset {t.Offset} is past the end of the file: the data section starts at byte {dataOffset} and the file is {_length} bytes", dataOffset);
                }

                if (t.ByteSize > dataSize - t.Offset)
                {
                    throw Fail($"data ({t.ByteSize} bytes at data offset {t.Offset}) runs past the end of the file: the data section starts at byte {dataOffset} and the file is {_length} bytes", dataOffset);
                }
            }

            var ordered = tensors.OrderBy(t => t.Offset).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                var previous = ordered[i - 1];
                var current = ordered[i];
                if (previous.Offset + previous.ByteSize > current.Offset)
                {
                    _where = $"tensor '{Shorten(current.Name)}'";
                    throw Fail(
                        $"data at offset {current.Offset} overlaps tensor '{Shorten(previous.Name)}' ({previous.ByteSize} bytes at offset {previous.Offset})",
                        dataOffset + current.Offset);
                }
            }
        }

        private GgufValue ReadValue(GgufValueType type, int depth, GgufValueContext context)
        {
            object value = type switch
            {
                GgufValueType.UInt8 => ReadByte("uint8 value"),
                GgufValueType.Int8 => (sbyte)ReadByte("int8 value"),
                GgufValueType.UInt16 => ReadUInt16("uint16 value"),
                GgufValueType.Int16 => (short)ReadUInt16("int16 value"),
                GgufValueType.UInt32 => ReadUInt32("uint32 value"),
                GgufValueType.Int32 => (int)ReadUInt32("int32 value"),
                GgufValueType.Float32 => BitConverter.Int32BitsToSingle((int)ReadUInt32("float32 value")),
                GgufValueType.Bool => ReadByte("bool value") != 0,
                GgufValueType.String => ReadString(_limits.MaxStringBytes, "string"),
                GgufValueType.UInt64 => ReadUInt64("uint64 value"),
                GgufValueType.Int64 => (long)ReadUInt64("int64 value"),
                GgufValueType.Float64 => BitConverter.Int64BitsToDouble((long)ReadUInt64("float64 value")),
                GgufValueType.Array => ReadArray(depth + 1, context),
                _ => throw Fail($"unknown value type {(int)type}", _position),
            };
            return GgufValue.Create(type, value, context);
        }

        private GgufArray ReadArray(int depth, GgufValueContext context)
        {
            var start = _position;
            if (depth > _limits.MaxArrayNesting)
            {
                throw Fail($"arrays are nested {depth} deep, more than the limit of {_limits.MaxArrayNesting}", start);
            }

            var elementType = ReadValueType("array element type");
            var countOffset = _position;
            var count = ReadUInt64("array length");
            var maxLength = Math.Min(_limits.MaxArrayLength, Array.MaxLength);
            var minSize = (ulong)GgufValueTypes.MinEncodedSize(elementType);
            if (count > (ulong)Remaining / minSize)
            {
                throw Fail($"array length {count} ({GgufValueTypes.Name(elementType)} elements, at least {(UInt128)count * minSize} bytes) runs past the end of the file ({Remaining} bytes remain)", countOffset);
            }

            if (count > (ulong)maxLength)
            {
                throw Fail($"array length {count} exceeds the limit of {maxLength} elements", countOffset);
            }

            var n = (int)count;
            Array items;
            _elementPath.Add(0);
            var level = _elementPath.Count - 1;
            switch (elementType)
            {
                case GgufValueType.String:
                    {
                        var strings = new string[n];
                        for (var i = 0; i < n; i++)
                        {
                            _elementPath[level] = i;
                            strings[i] = ReadString(_limits.MaxStringBytes, "string");
                        }

                        items = strings;
                        break;
                    }

                case GgufValueType.Array:
                    {
                        var arrays = new GgufArray[n];
                        for (var i = 0; i < n; i++)
                        {
                            _elementPath[level] = i;
                            arrays[i] = ReadArray(depth + 1, context.Element(i));
                        }

                        items = arrays;
                        break;
                    }

                default:
                    items = ReadScalarArray(elementType, n);
                    break;
            }

            _elementPath.RemoveAt(level);
            return GgufArray.Wrap(elementType, items, context);
        }

        private Array ReadScalarArray(GgufValueType type, int n)
        {
            var size = GgufValueTypes.FixedSize(type);
            Array items = type switch
            {
                GgufValueType.UInt8 => new byte[n],
                GgufValueType.Int8 => new sbyte[n],
                GgufValueType.UInt16 => new ushort[n],
                GgufValueType.Int16 => new short[n],
                GgufValueType.UInt32 => new uint[n],
                GgufValueType.Int32 => new int[n],
                GgufValueType.Float32 => new float[n],
                GgufValueType.Bool => new bool[n],
                GgufValueType.UInt64 => new ulong[n],
                GgufValueType.Int64 => new long[n],
                GgufValueType.Float64 => new double[n],
                _ => throw Fail($"unknown array element type {(int)type}", _position),
            };

            var level = _elementPath.Count - 1;
            for (var i = 0; i < n; i++)
            {
                _elementPath[level] = i;
                Ensure(size, $"{GgufValueTypes.Name(type)} element");
                var span = _buffer.AsSpan(_bufferPos, size);
                switch (items)
                {
                    case byte[] a: a[i] = span[0]; break;
                    case sbyte[] a: a[i] = (sbyte)span[0]; break;
                    case bool[] a: a[i] = span[0] != 0; break;
                    case ushort[] a: a[i] = BinaryPrimitives.ReadUInt16LittleEndian(span); break;
                    case short[] a: a[i] = BinaryPrimitives.ReadInt16LittleEndian(span); break;
                    case uint[] a: a[i] = BinaryPrimitives.ReadUInt32LittleEndian(span); break;
                    case int[] a: a[i] = BinaryPrimitives.ReadInt32LittleEndian(span); break;
                    case float[] a: a[i] = BinaryPrimitives.ReadSingleLittleEndian(span); break;
                    case ulong[] a: a[i] = BinaryPrimitives.ReadUInt64LittleEndian(span); break;
                    case long[] a: a[i] = BinaryPrimitives.ReadInt64LittleEndian(span); break;
                    case double[] a: a[i] = BinaryPrimitives.ReadDoubleLittleEndian(span); break;
                }

                Advance(size);
            }

            return items;
        }

        private GgufValueType ReadValueType(string what)
        {
            var offset = _position;
            var id = ReadUInt32(what);
            if (!GgufValueTypes.IsDefined(id))
            {
                throw Fail($"unknown {what} {id} (valid GGUF value types are 0 to {GgufValueTypes.Count - 1})", offset);
            }

            return (GgufValueType)id;
        }

        private string ReadName(int maxBytes, string what)
        {
            var offset = _position;
            var length = ReadUInt64($"{what} length");
            if (length == 0)
            {
                throw Fail($"{what} is empty", offset);
            }

            CheckStringLength(length, maxBytes, what, offset);
            try
            {
                return ReadUtf8((int)length, StrictUtf8, what);
            }
            catch (DecoderFallbackException)
            {
                throw Fail($"{what} is not valid UTF-8", offset + 8);
            }
        }

        private string ReadString(int maxBytes, string what)
        {
            var offset = _position;
            var length = ReadUInt64($"{what} length");
            CheckStringLength(length, maxBytes, what, offset);
            return ReadUtf8((int)length, LenientUtf8, what);
        }

        private void CheckStringLength(ulong length, int maxBytes, string what, long offset)
        {
            if (length > (ulong)Remaining)
            {
                throw Fail($"{what} length {length} runs past the end of the file ({Remaining} bytes remain)", offset);
            }

            if (length > (ulong)maxBytes)
            {
                throw Fail($"{what} length {length} exceeds the limit of {maxBytes} bytes", offset);
            }
        }

        private string ReadUtf8(int length, UTF8Encoding encoding, string what)
        {
            if (length <= _buffer.Length)
            {
                Ensure(length, what);
                var s = encoding.GetString(_buffer, _bufferPos, length);
                Advance(length);
                return s;
            }

            var bytes = new byte[length];
            var copied = 0;
            while (copied < length)
            {
                var chunk = Math.Min(_buffer.Length, length - copied);
                Ensure(chunk, what);
                _buffer.AsSpan(_bufferPos, chunk).CopyTo(bytes.AsSpan(copied));
                Advance(chunk);
                copied += chunk;
            }

            return encoding.GetString(bytes);
        }

        private byte ReadByte(string what)
        {
            Ensure(1, what);
            var v = _buffer[_bufferPos];
            Advance(1);
            return v;
        }

        private ushort ReadUInt16(string what)
        {
            Ensure(2, what);
            var v = BinaryPrimitives.ReadUInt16LittleEndian(_buffer.AsSpan(_bufferPos, 2));
            Advance(2);
            return v;
        }

        private uint ReadUInt32(string what)
        {
            Ensure(4, what);
            var v = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_bufferPos, 4));
            Advance(4);
            return v;
        }

        private ulong ReadUInt64(string what)
        {
            Ensure(8, what);
            var v = BinaryPrimitives.ReadUInt64LittleEndian(_buffer.AsSpan(_bufferPos, 8));
            Advance(8);
            return v;
        }

        private void Advance(int count)
        {
            _bufferPos += count;
            _position += count;
        }

        /// <summary>Makes <paramref name="count"/> bytes (at most 16 or the buffer size) available at <see cref="_bufferPos"/>.</summary>
        private void Ensure(int count, string what)
        {
            if (count > Remaining)
            {
                throw Fail($"unexpected end of file while reading the {what}: {count} bytes needed but only {Remaining} remain", _position);
            }

            if (_bufferEnd - _bufferPos >= count)
            {
                return;
            }

            var buffered = _bufferEnd - _bufferPos;
            if (buffered > 0 && _bufferPos > 0)
            {
                Buffer.BlockCopy(_buffer, _bufferPos, _buffer, 0, buffered);
            }

            _bufferPos = 0;
            _bufferEnd = buffered;
            var wanted = (int)Math.Min(_buffer.Length, buffered + Remaining);
            while (_bufferEnd < count)
            {
                var read = _stream.Read(_buffer, _bufferEnd, wanted - _bufferEnd);
                if (read <= 0)
                {
                    throw Fail($"unexpected end of file while reading the {what}: the data ends at byte {_position + _bufferEnd} but the file should be {_length} bytes", _position);
                }

                _bufferEnd += read;
            }
        }

        private InvalidModelFileException Fail(string problem, long offset)
        {
            var where = _where;
            if (_elementPath.Count > 0)
            {
                var sb = new StringBuilder(where);
                sb.Append(" element ");
                foreach (var index in _elementPath)
                {
                    sb.Append('[').Append(index.ToString(CultureInfo.InvariantCulture)).Append(']');
                }

                where = sb.ToString();
            }

            return new InvalidModelFileException(_path, $"{where}: {problem} (at offset {offset})", offset);
        }

        private static long AlignUp(long value, uint alignment) =>
            (value + alignment - 1) / alignment * alignment;

        private static string Shorten(string name)
        {
            var s = name.Length <= MaxNameInMessage ? name : string.Concat(name.AsSpan(0, MaxNameInMessage), "...");
            return s.Any(char.IsControl) ? string.Concat(s.Select(c => char.IsControl(c) ? "?" : c.ToString())) : s;
        }

        private static string RemovedTypeName(uint id) => id switch
        {
            4 => "Q4_2",
            5 => "Q4_3",
            31 => "Q4_0_4_4",
            32 => "Q4_0_4_8",
            33 => "Q4_0_8_8",
            36 => "IQ4_NL_4_4",
            37 => "IQ4_NL_4_8",
            38 => "IQ4_NL_8_8",
            _ => "unknown",
        };
    }
}
