using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Enclave.Tests.Hostile;

/// <summary>
/// Mutation fuzzer against the real gateway: valid chat, completion and embedding bodies are byte-flipped,
/// truncated, spliced, retyped, inflated, nested and stripped, and sent by several concurrent senders. No answer
/// may be a 5xx, no connection may fail, and the process must stay up. <c>ENCLAVE_FUZZ_ITERATIONS</c> sets the
/// count (default 10,000; a bench run uses 100,000) and <c>ENCLAVE_FUZZ_SEED</c> replays one run. A body that
/// ever produced a 5xx or a failure is saved to <c>Hostile/corpus</c>, and the corpus is replayed first.
/// </summary>
[Collection(HostileGatewayGroup.Name)]
public sealed class MutationFuzzTests(HostileGateway fixture)
{
    private const int Senders = 4;
    private const int MaxFuzzBody = 1 << 20;

    private static readonly (string Path, string Body)[] Seeds =
    [
        ("/v1/chat/completions", """{"model":"chat","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi there"}],"max_tokens":2,"temperature":0.5,"top_p":0.9,"stop":["\n"],"seed":7}"""),
        ("/v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":[{"type":"text","text":"Hello"}]}],"max_completion_tokens":1,"stream":true,"stream_options":{"include_usage":true}}"""),
        ("/v1/completions", """{"model":"stories","prompt":"Once upon a time","max_tokens":2,"n":1,"presence_penalty":0.1,"frequency_penalty":0.2,"top_k":40}"""),
        ("/v1/completions", """{"model":"stories","prompt":["Lily"],"max_tokens":1,"stream":true,"logprobs":null,"response_format":{"type":"text"}}"""),
        ("/v1/embeddings", """{"model":"bert","input":["hello world","a cat"],"encoding_format":"float"}"""),
        ("/v1/embeddings", """{"model":"bert","input":"just one","encoding_format":"base64","dimensions":128}"""),
    ];

    private static readonly string[] Paths = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"];

    private static readonly string[] Oddities =
    [
        "null", "true", "0", "-1", "1e400", "-1e400", "123456789012345678901234567890", "1.7976931348623157e308", "-0", "0.0000001",
        "\"\"", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\u202e\u2028\"", "\"<|im_start|>system\"", "[]", "{}", "[null]", "[[[]]]",
        "{\"api_key\":\"sk-x\"}", "\"chat\"", "\"stories\"", "\"bert\"", "\"../../etc/passwd\"", "[\"a\",\"b\",\"c\",\"d\",\"e\"]", "4294967296", "9223372036854775808",
    ];

    [Fact]
    public async Task Gateway_MutatedBodies_NeverAnswer5xxOrDrop()
    {
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("ENCLAVE_FUZZ_ITERATIONS"), out var n) && n > 0 ? n : 10_000;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("ENCLAVE_FUZZ_SEED"), out var s) ? s : RandomNumberGenerator.GetInt32(int.MaxValue);
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Senders, MaxResponseDrainSize = 0 })
        {
            BaseAddress = fixture.Gateway.BaseUrl,
            Timeout = TimeSpan.FromSeconds(30),
        };

        var corpus = Corpus.Load();
        foreach (var (path, body) in corpus)
        {
            await SendAsync(http, path, body, failures, statuses);
        }

        var watch = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Senders).Select(sender => Task.Run(async () =>
        {
            var random = new Random(seed + sender);
            while (Interlocked.Increment(ref next) < iterations && failures.Count < 20)
            {
                var (path, body) = Seeds[random.Next(Seeds.Length)];
                var mutated = Mutate(Encoding.UTF8.GetBytes(body), random);
                // Bodies over the 8 MiB cap are answered 413 before they are read (catalogue rows 1–2); keep the
                // fuzz bodies well under it so the client never fails mid-send.
                mutated = mutated.Length > MaxFuzzBody ? mutated[..MaxFuzzBody] : mutated;
                var target = random.Next(20) == 0 ? Paths[random.Next(Paths.Length)] : path;
                await SendAsync(http, target, mutated, failures, statuses);
            }
        })));
        watch.Stop();

        var summary = $"seed {seed}: {iterations} bodies (+{corpus.Count} corpus) in {watch.Elapsed.TotalSeconds:F1} s; statuses "
            + string.Join(", ", statuses.OrderBy(p => p.Key).Select(p => $"{p.Key}×{p.Value}"));
        Console.WriteLine(summary);
        Assert.False(fixture.Gateway.HasExited, "gateway exited during fuzzing:\n" + fixture.Gateway.Output);
        Assert.True(failures.IsEmpty, summary + "\n" + string.Join("\n", failures.Take(20)));
        await fixture.AssertHealthyAsync();
    }

    private static async Task SendAsync(HttpClient http, string path, byte[] body, ConcurrentQueue<string> failures, ConcurrentDictionary<int, int> statuses)
    {
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            using var response = await http.PostAsync(path, content);
            _ = await response.Content.ReadAsByteArrayAsync();
            var status = (int)response.StatusCode;
            statuses.AddOrUpdate(status, 1, (_, c) => c + 1);
            if (status >= 500)
            {
                failures.Enqueue($"{status} for {Corpus.Save(path, body)}");
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            failures.Enqueue($"{ex.GetType().Name} {ex.Message} for {Corpus.Save(path, body)}");
        }
    }

    /// <summary>One to three stacked mutations, structural (on the JSON tree) or raw (on the bytes).</summary>
    internal static byte[] Mutate(byte[] body, Random random)
    {
        for (var rounds = random.Next(1, 4); rounds > 0; rounds--)
        {
            body = random.Next(10) switch
            {
                0 => FlipBytes(body, random),
                1 => body[..random.Next(body.Length + 1)],
                2 => Duplicate(body, random),
                3 => InsertText(body, random, Oddities[random.Next(Oddities.Length)]),
                _ => TryMutateTree(body, random) ?? FlipBytes(body, random),
            };
        }

        return body;
    }

    private static byte[] FlipBytes(byte[] body, Random random)
    {
        var copy = (byte[])body.Clone();
        for (var i = random.Next(1, 4); i > 0 && copy.Length > 0; i--)
        {
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
        }

        return copy;
    }

    private static byte[] Duplicate(byte[] body, Random random)
    {
        var start = random.Next(body.Length);
        var length = random.Next(Math.Min(64, body.Length - start) + 1);
        var at = random.Next(body.Length + 1);
        return [.. body[..at], .. body.AsSpan(start, length), .. body[at..]];
    }

    private static byte[] InsertText(byte[] body, Random random, string text)
    {
        var at = random.Next(body.Length + 1);
        return [.. body[..at], .. Encoding.UTF8.GetBytes(text), .. body[at..]];
    }

    // JsonNode decodes strings lazily, so a body with bad UTF-8 may only fail while it is being rewritten.
    private static byte[]? TryMutateTree(byte[] body, Random random)
    {
        try
        {
            return MutateTree(body, random);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static byte[]? MutateTree(byte[] body, Random random)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException)
        {
            return null;
        }

        if (root is not JsonObject obj || obj.Count == 0)
        {
            return null;
        }

        var containers = new List<JsonNode>();
        Collect(obj, containers);
        var target = containers[random.Next(containers.Count)];
        switch (target)
        {
            case JsonObject o when o.Count > 0 && random.Next(3) == 0:
                o.Remove(o.ElementAt(random.Next(o.Count)).Key);
                break;
            case JsonObject o:
                var key = random.Next(4) == 0 ? o.ElementAt(random.Next(Math.Max(1, o.Count))).Key ?? "x" : RandomKey(random);
                o[key] = RandomValue(random);
                break;
            case JsonArray a when a.Count > 0 && random.Next(2) == 0:
                a[random.Next(a.Count)] = RandomValue(random);
                break;
            case JsonArray a:
                for (var i = random.Next(1, random.Next(2) == 0 ? 4 : 3000); i > 0; i--)
                {
                    a.Add(a.Count > 0 && random.Next(2) == 0 ? a[random.Next(a.Count)]?.DeepClone() : RandomValue(random));
                }

                break;
        }

        return Encoding.UTF8.GetBytes(obj.ToJsonString());
    }

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        into.Add(node);
        var children = node switch
        {
            JsonObject o => o.Select(p => p.Value),
            JsonArray a => a.AsEnumerable(),
            _ => [],
        };
        foreach (var child in children)
        {
            if (child is JsonObject or JsonArray)
            {
                Collect(child, into);
            }
        }
    }

    private static string RandomKey(Random random) => random.Next(6) switch
    {
        0 => "api_base",
        1 => "Extra_Headers",
        2 => new[] { "model", "messages", "prompt", "input", "max_tokens", "stop", "n", "seed", "tools", "logit_bias", "stream", "temperature", "stream_options", "response_format", "role", "content" }[random.Next(16)],
        3 => RandomUnicode(random, random.Next(1, 12)),
        _ => "k" + random.Next(1000).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static JsonNode? RandomValue(Random random)
    {
        switch (random.Next(9))
        {
            case 0: return null;
            case 1: return JsonValue.Create(random.Next(2) == 0);
            case 2: return JsonValue.Create((long)(random.NextDouble() * long.MaxValue * (random.Next(2) == 0 ? 1 : -1)));
            case 3: return JsonValue.Create(random.NextDouble() * Math.Pow(10, random.Next(-10, 300)));
            case 4: return JsonValue.Create(RandomUnicode(random, random.Next(0, random.Next(10) == 0 ? 100_000 : 40)));
            case 5:
                JsonNode nested = new JsonArray();
                for (var depth = random.Next(1, 100); depth > 0; depth--)
                {
                    nested = random.Next(2) == 0 ? new JsonArray(nested) : new JsonObject { ["a"] = nested };
                }

                return nested;
            case 6: return new JsonArray(Enumerable.Range(0, random.Next(0, 10)).Select(_ => (JsonNode?)JsonValue.Create(RandomUnicode(random, 3))).ToArray());
            case 7: return new JsonObject { ["role"] = "user", ["content"] = RandomUnicode(random, random.Next(1, 20)) };
            default: return JsonNode.Parse(Oddities[random.Next(Oddities.Length)].Replace("\\ud800", "x", StringComparison.Ordinal).Replace("\\udc00", "y", StringComparison.Ordinal));
        }
    }

    private static string RandomUnicode(Random random, int length)
    {
        var text = new StringBuilder(length);
        while (text.Length < length)
        {
            var cp = random.Next(5) switch
            {
                0 => random.Next(0, 0x20),
                1 => random.Next(0x20, 0x7F),
                2 => random.Next(0x80, 0xD800),
                3 => random.Next(0xE000, 0x10000),
                _ => random.Next(0x10000, 0x110000),
            };
            text.Append(char.ConvertFromUtf32(cp));
        }

        return text.ToString();
    }

    /// <summary>Bodies that once failed: saved under the source tree's Hostile/corpus when it can be found.</summary>
    private static class Corpus
    {
        private static readonly string SourceFolder = FindSourceFolder();

        public static List<(string Path, byte[] Body)> Load()
        {
            var folder = Path.Combine(AppContext.BaseDirectory, "Hostile", "corpus");
            var list = new List<(string, byte[])>();
            foreach (var dir in new[] { folder, SourceFolder }.Distinct().Where(Directory.Exists))
            {
                foreach (var file in Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal))
                {
                    var name = Path.GetFileName(file);
                    var endpoint = name.StartsWith("completions", StringComparison.Ordinal) ? "/v1/completions"
                        : name.StartsWith("embeddings", StringComparison.Ordinal) ? "/v1/embeddings" : "/v1/chat/completions";
                    list.Add((endpoint, File.ReadAllBytes(file)));
                }
            }

            return list;
        }

        public static string Save(string path, byte[] body)
        {
            var name = path.Replace("/v1/", "", StringComparison.Ordinal).Replace("chat/completions", "chat", StringComparison.Ordinal)
                + "_" + Convert.ToHexStringLower(SHA256.HashData(body))[..12] + ".json";
            var file = Path.Combine(SourceFolder, name);
            Directory.CreateDirectory(SourceFolder);
            File.WriteAllBytes(file, body);
            return file;
        }

        private static string FindSourceFolder()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "Enclave.Tests", "Hostile", "corpus");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }

            return Path.Combine(AppContext.BaseDirectory, "Hostile", "corpus");
        }
    }
}
