using System.Globalization;

namespace Enclave.Native.Gguf;

/// <summary>
/// One GGUF metadata value. Values read from a file remember their key and file, so a typed accessor used on a value of the
/// wrong type throws <see cref="InvalidModelFileException"/> naming the key (a well-known key with the wrong type is a
/// malformed model file).
/// </summary>
public sealed class GgufValue : IEquatable<GgufValue>
{
    private readonly object _value;

    private GgufValue(GgufValueType type, object value, GgufValueContext? context)
    {
        Type = type;
        _value = value;
        Context = context;
    }

    /// <summary>The on-disk value type.</summary>
    public GgufValueType Type { get; }

    /// <summary>
    /// The value boxed as its exact CLR type: byte, sbyte, ushort, short, uint, int, float, bool, string, ulong, long, double,
    /// or <see cref="GgufArray"/>.
    /// </summary>
    public object Value => _value;

    /// <summary>True for any of the eight integer types.</summary>
    public bool IsInteger => GgufValueTypes.IsInteger(Type);

    internal GgufValueContext? Context { get; }

    public static GgufValue FromUInt8(byte value) => new(GgufValueType.UInt8, value, null);

    public static GgufValue FromInt8(sbyte value) => new(GgufValueType.Int8, value, null);

    public static GgufValue FromUInt16(ushort value) => new(GgufValueType.UInt16, value, null);

    public static GgufValue FromInt16(short value) => new(GgufValueType.Int16, value, null);

    public static GgufValue FromUInt32(uint value) => new(GgufValueType.UInt32, value, null);

    public static GgufValue FromInt32(int value) => new(GgufValueType.Int32, value, null);

    public static GgufValue FromFloat32(float value) => new(GgufValueType.Float32, value, null);

    public static GgufValue FromBool(bool value) => new(GgufValueType.Bool, value, null);

    public static GgufValue FromString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(GgufValueType.String, value, null);
    }

    public static GgufValue FromUInt64(ulong value) => new(GgufValueType.UInt64, value, null);

    public static GgufValue FromInt64(long value) => new(GgufValueType.Int64, value, null);

    public static GgufValue FromFloat64(double value) => new(GgufValueType.Float64, value, null);

    public static GgufValue FromArray(GgufArray value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(GgufValueType.Array, value, null);
    }

    /// <summary>Wraps a boxed scalar (or <see cref="GgufArray"/>) whose CLR type matches <paramref name="type"/>.</summary>
    public static GgufValue FromObject(GgufValueType type, object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!GgufValueTypes.IsDefined((uint)type) || value.GetType() != GgufValueTypes.ClrType(type))
        {
            throw new ArgumentException($"A {value.GetType().Name} cannot be stored as GGUF {GgufValueTypes.Name(type)}.", nameof(value));
        }

        return new(type, value, null);
    }

    internal static GgufValue Create(GgufValueType type, object value, GgufValueContext? context) => new(type, value, context);

    /// <summary>The string value; throws <see cref="InvalidModelFileException"/> when the value is not a string.</summary>
    public string AsString() =>
        _value as string ?? throw Mismatch("a string");

    /// <summary>The boolean value; throws <see cref="InvalidModelFileException"/> when the value is not a bool.</summary>
    public bool AsBool() =>
        _value is bool b ? b : throw Mismatch("a bool");

    /// <summary>The array value; throws <see cref="InvalidModelFileException"/> when the value is not an array.</summary>
    public GgufArray AsArray() =>
        _value as GgufArray ?? throw Mismatch("an array");

    /// <summary>Any integer type as Int64; throws when the value is not an integer or does not fit.</summary>
    public long AsInt64() => _value switch
    {
        byte v => v,
        sbyte v => v,
        ushort v => v,
        short v => v,
        uint v => v,
        int v => v,
        long v => v,
        ulong v when v <= long.MaxValue => (long)v,
        ulong v => throw OutOfRange(v.ToString(CultureInfo.InvariantCulture), "int64"),
        _ => throw Mismatch("an integer"),
    };

    /// <summary>Any non-negative integer as UInt64; throws when the value is not an integer or is negative.</summary>
    public ulong AsUInt64()
    {
        if (_value is ulong u)
        {
            return u;
        }

        var v = AsInt64();
        return v >= 0 ? (ulong)v : throw OutOfRange(v.ToString(CultureInfo.InvariantCulture), "uint64");
    }

    /// <summary>Any integer type as Int32; throws when the value is not an integer or does not fit.</summary>
    public int AsInt32()
    {
        var v = AsInt64();
        return v is >= int.MinValue and <= int.MaxValue ? (int)v : throw OutOfRange(v.ToString(CultureInfo.InvariantCulture), "int32");
    }

    /// <summary>A non-negative integer that fits in Int32 (a count or size); throws <see cref="InvalidModelFileException"/> otherwise.</summary>
    public int AsCount()
    {
        var v = AsInt32();
        return v >= 0
            ? v
            : throw new InvalidModelFileException(
                Context?.FilePath ?? string.Empty,
                $"{Context?.Description ?? "metadata value"} must not be negative but is {v.ToString(CultureInfo.InvariantCulture)}{OffsetSuffix()}",
                Context?.Offset);
    }

    /// <summary>float32, float64 or any integer as a double; throws for other types.</summary>
    public double AsDouble() => _value switch
    {
        float f => f,
        double d => d,
        ulong u => u,
        _ when IsInteger => AsInt64(),
        _ => throw Mismatch("a number"),
    };

    public bool Equals(GgufValue? other)
    {
        if (other is null)
        {
            return false;
        }

        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (Type != other.Type)
        {
            return false;
        }

        return (_value, other._value) switch
        {
            (float a, float b) => BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b),
            (double a, double b) => BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b),
            (string a, string b) => string.Equals(a, b, StringComparison.Ordinal),
            (GgufArray a, GgufArray b) => a.Equals(b),
            _ => _value.Equals(other._value),
        };
    }

    public override bool Equals(object? obj) => Equals(obj as GgufValue);

    public override int GetHashCode() => _value switch
    {
        float f => HashCode.Combine(Type, BitConverter.SingleToInt32Bits(f)),
        double d => HashCode.Combine(Type, BitConverter.DoubleToInt64Bits(d)),
        string s => HashCode.Combine(Type, StringComparer.Ordinal.GetHashCode(s)),
        _ => HashCode.Combine(Type, _value),
    };

    public override string ToString() => _value switch
    {
        string s => s,
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        GgufArray a => a.ToString(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => _value.ToString() ?? string.Empty,
    };

    private InvalidModelFileException Mismatch(string expected) =>
        new(Context?.FilePath ?? string.Empty,
            $"{Context?.Description ?? "metadata value"} must be {expected} but is {GgufValueTypes.Name(Type)}{OffsetSuffix()}",
            Context?.Offset);

    private string OffsetSuffix() => Context is null ? string.Empty : $" (at offset {Context.Offset})";

    private InvalidModelFileException OutOfRange(string value, string target) =>
        new(Context?.FilePath ?? string.Empty,
            $"{Context?.Description ?? "metadata value"} has value {value}, which does not fit in {target}{OffsetSuffix()}",
            Context?.Offset);
}

/// <summary>Where a value came from, for error messages.</summary>
internal sealed record GgufValueContext(string FilePath, string Description, long Offset)
{
    public GgufValueContext Element(long index) => this with { Description = $"{Description} element [{index}]" };
}
