using System.Collections;
using System.Collections.ObjectModel;
using System.Text;

namespace Enclave.Native.Gguf;

/// <summary>
/// A GGUF metadata array: one element type, elements stored as a typed CLR array (byte[], float[], string[], GgufArray[], ...).
/// Enumerating or indexing wraps each element in a <see cref="GgufValue"/>; use <see cref="GetItems{T}"/> for bulk access.
/// </summary>
public sealed class GgufArray : IReadOnlyList<GgufValue>, IEquatable<GgufArray>
{
    private readonly Array _items;

    private GgufArray(GgufValueType elementType, Array items, GgufValueContext? context)
    {
        ElementType = elementType;
        _items = items;
        Context = context;
    }

    /// <summary>The type of every element.</summary>
    public GgufValueType ElementType { get; }

    /// <summary>Number of elements.</summary>
    public int Count => _items.Length;

    internal GgufValueContext? Context { get; }

    internal Array Items => _items;

    public GgufValue this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            return GgufValue.Create(ElementType, _items.GetValue(index)!, Context?.Element(index));
        }
    }

    /// <summary>
    /// Creates an array from a typed CLR array whose element type matches <paramref name="elementType"/>
    /// (for example float[] for Float32, string[] for String, GgufArray[] for Array). The array is copied.
    /// </summary>
    public static GgufArray Create(GgufValueType elementType, Array items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (!GgufValueTypes.IsDefined((uint)elementType) || items.GetType().GetElementType() != GgufValueTypes.ClrType(elementType) || items.Rank != 1)
        {
            throw new ArgumentException($"A {items.GetType().Name} cannot hold GGUF {GgufValueTypes.Name(elementType)} elements.", nameof(items));
        }

        foreach (var item in items)
        {
            if (item is null)
            {
                throw new ArgumentException("GGUF arrays cannot contain null elements.", nameof(items));
            }
        }

        return new GgufArray(elementType, (Array)items.Clone(), null);
    }

    /// <summary>Creates an array whose element type follows from <typeparamref name="T"/> (byte → UInt8, float → Float32, string → String, ...).</summary>
    public static GgufArray Of<T>(params T[] items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var type = Enumerable.Range(0, GgufValueTypes.Count).Select(i => (GgufValueType)i).FirstOrDefault(t => GgufValueTypes.ClrType(t) == typeof(T), (GgufValueType)(-1));
        return (int)type < 0
            ? throw new ArgumentException($"{typeof(T).Name} is not a GGUF value type.", nameof(items))
            : Create(type, items);
    }

    public static GgufArray FromStrings(IEnumerable<string> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        return Create(GgufValueType.String, items.ToArray());
    }

    internal static GgufArray Wrap(GgufValueType elementType, Array items, GgufValueContext? context) => new(elementType, items, context);

    /// <summary>
    /// The elements as <typeparamref name="T"/> (which must be the exact CLR element type); throws
    /// <see cref="InvalidModelFileException"/> on a mismatch.
    /// </summary>
    public IReadOnlyList<T> GetItems<T>()
    {
        if (_items is T[] typed)
        {
            return new ReadOnlyCollection<T>(typed);
        }

        throw new InvalidModelFileException(
            Context?.FilePath ?? string.Empty,
            $"{Context?.Description ?? "metadata array"} must be an array of {typeof(T).Name} but holds {GgufValueTypes.Name(ElementType)} elements{(Context is null ? string.Empty : $" (at offset {Context.Offset})")}",
            Context?.Offset);
    }

    /// <summary>The elements as strings; throws <see cref="InvalidModelFileException"/> when they are not strings.</summary>
    public IReadOnlyList<string> AsStrings() => GetItems<string>();

    public IEnumerator<GgufValue> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(GgufArray? other)
    {
        if (other is null || other.ElementType != ElementType || other.Count != Count)
        {
            return false;
        }

        for (var i = 0; i < Count; i++)
        {
            if (!GgufValue.Create(ElementType, _items.GetValue(i)!, null).Equals(GgufValue.Create(ElementType, other._items.GetValue(i)!, null)))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as GgufArray);

    public override int GetHashCode() => HashCode.Combine(ElementType, Count);

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append('[');
        var shown = Math.Min(Count, 8);
        for (var i = 0; i < shown; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(GgufValue.Create(ElementType, _items.GetValue(i)!, null));
        }

        if (Count > shown)
        {
            sb.Append(", ... (").Append(Count).Append(" elements)");
        }

        return sb.Append(']').ToString();
    }
}
