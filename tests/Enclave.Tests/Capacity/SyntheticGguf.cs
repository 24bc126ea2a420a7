using Enclave.Native.Gguf;

namespace Enclave.Tests.Capacity;

/// <summary>
/// Writes the header of a llama-architecture GGUF with realistic tensor shapes and no real data: the data section
/// is a sparse hole of the right length, so an 8B-parameter model costs a few kilobytes of disk. Enough for
/// everything that reads only headers (the GGUF reader, <c>enclave plan</c>).
/// </summary>
internal static class SyntheticGguf
{
    public sealed record Shape(string Name, int Layers, int Embedding, int Heads, int KvHeads, int FeedForward, int Vocabulary, int Context, GgmlType Type, bool Tied = false);

    public static Shape Llama3_8B { get; } = new("Llama-3-8B-shaped", 32, 4096, 32, 8, 14336, 128_256, 8192, GgmlType.Q4_0);

    public static Shape Qwen25_05B { get; } = new("Qwen2.5-0.5B-shaped", 24, 896, 14, 2, 4864, 151_936, 32_768, GgmlType.Q8_0, Tied: true);

    public static string Write(Shape shape, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        path ??= Path.Combine(CapacityCli.TempDir(), shape.Name + ".gguf");
        var headDim = shape.Embedding / shape.Heads;
        var writer = new GgufWriter { DataLength = 0 }
            .Add("general.architecture", "llama")
            .Add("general.name", shape.Name)
            .Add("general.file_type", shape.Type == GgmlType.Q4_0 ? 2u : shape.Type == GgmlType.Q8_0 ? 7u : 1u)
            .Add("llama.block_count", (uint)shape.Layers)
            .Add("llama.context_length", (uint)shape.Context)
            .Add("llama.embedding_length", (uint)shape.Embedding)
            .Add("llama.feed_forward_length", (uint)shape.FeedForward)
            .Add("llama.attention.head_count", (uint)shape.Heads)
            .Add("llama.attention.head_count_kv", (uint)shape.KvHeads);
        var tensors = new List<(string Name, GgmlType Type, long[] Dims)> { ("token_embd.weight", shape.Type, [shape.Embedding, shape.Vocabulary]) };
        for (var i = 0; i < shape.Layers; i++)
        {
            tensors.Add(($"blk.{i}.attn_norm.weight", GgmlType.F32, [shape.Embedding]));
            tensors.Add(($"blk.{i}.attn_q.weight", shape.Type, [shape.Embedding, shape.Embedding]));
            tensors.Add(($"blk.{i}.attn_k.weight", shape.Type, [shape.Embedding, shape.KvHeads * headDim]));
            tensors.Add(($"blk.{i}.attn_v.weight", shape.Type, [shape.Embedding, shape.KvHeads * headDim]));
            tensors.Add(($"blk.{i}.attn_output.weight", shape.Type, [shape.Embedding, shape.Embedding]));
            tensors.Add(($"blk.{i}.ffn_norm.weight", GgmlType.F32, [shape.Embedding]));
            tensors.Add(($"blk.{i}.ffn_gate.weight", shape.Type, [shape.Embedding, shape.FeedForward]));
            tensors.Add(($"blk.{i}.ffn_up.weight", shape.Type, [shape.Embedding, shape.FeedForward]));
            tensors.Add(($"blk.{i}.ffn_down.weight", shape.Type, [shape.FeedForward, shape.Embedding]));
        }

        tensors.Add(("output_norm.weight", GgmlType.F32, [shape.Embedding]));
        if (!shape.Tied)
        {
            tensors.Add(("output.weight", shape.Type, [shape.Embedding, shape.Vocabulary]));
        }

        long data = 0;
        foreach (var (name, type, dims) in tensors)
        {
            writer.AddTensor(name, type, dims);
            data += AlignUp(GgmlTypeTraits.GetByteSize(type, dims.Aggregate(1L, (a, b) => a * b))!.Value, GgufReader.DefaultAlignment);
        }

        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write))
        {
            writer.WriteTo(file);
            file.SetLength(file.Length + data);
        }

        return path;
    }

    private static long AlignUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;
}
