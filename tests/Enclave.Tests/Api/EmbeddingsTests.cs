using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Api;

[Collection(SharedGatewayGroup.Name)]
public sealed class EmbeddingsTests(SharedGateway shared)
{
    private readonly GatewayProcess _gateway = shared.Gateway;

    private static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }

        return dot / MathF.Sqrt(na * nb);
    }

    [Fact]
    public async Task Embed_EncoderModel_RelatedSentencesScoreHigher()
    {
        var client = _gateway.OpenAi.GetEmbeddingClient("bert");

        var result = await client.GenerateEmbeddingsAsync(["The cat sat on the mat.", "A cat was sitting on the mat.", "Quantum computers use superposition."]);
        var v = result.Value.Select(e => e.ToFloats().ToArray()).ToArray();

        Assert.All(v, e => Assert.Equal(128, e.Length));
        var related = Cosine(v[0], v[1]);
        var unrelated = Cosine(v[0], v[2]);
        Assert.True(related > unrelated + 0.2f, $"related {related} vs unrelated {unrelated}");
        Assert.InRange(related, 0.70f, 0.75f); // MODELS.md measured 0.7259 with llama.cpp directly
        Assert.All(v, e => Assert.InRange(MathF.Sqrt(e.Sum(x => x * x)), 0.999f, 1.001f));
    }

    [Fact]
    public async Task Embed_Base64_DecodesToSameVectorAsFloat()
    {
        async Task<JsonElement> Post(string format)
        {
            var json = $$"""{"model":"bert","input":"What is the capital of France?","encoding_format":"{{format}}"}""";
            using var response = await _gateway.Http.PostAsync("/v1/embeddings", new StringContent(json, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        }

        var floats = (await Post("float")).GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var b64 = (await Post("base64")).GetProperty("data")[0].GetProperty("embedding").GetString()!;
        var decoded = MemoryMarshal.Cast<byte, float>(Convert.FromBase64String(b64)).ToArray();

        Assert.Equal(floats, decoded);
    }

    [Fact]
    public async Task Embed_DecoderModel_UsesMeanPooling()
    {
        var client = _gateway.OpenAi.GetEmbeddingClient("stories");

        var result = await client.GenerateEmbeddingsAsync(["girl dog park", "king apple castle"]);

        Assert.Equal(64, result.Value[0].ToFloats().Length);
        Assert.Equal(2, result.Value.Count);
        Assert.True(result.Value.Usage.InputTokenCount > 4);
    }

    [Fact]
    public async Task Embed_SameInput_IsDeterministic()
    {
        var client = _gateway.OpenAi.GetEmbeddingClient("bert");

        var a = (await client.GenerateEmbeddingAsync("deterministic vectors")).Value.ToFloats().ToArray();
        var b = (await client.GenerateEmbeddingAsync("deterministic vectors")).Value.ToFloats().ToArray();

        Assert.Equal(a, b);
    }
}
