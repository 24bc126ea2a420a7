using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Capacity;

/// <summary><c>enclave bench</c> from the command line: bad input is one line on stderr and exit code 2; datasets drive real runs.</summary>
public sealed class BenchCliTests
{
    private static readonly string Closed = $"http://127.0.0.1:{GatewayProcess.FreeTcpPort()}";

    [Theory]
    [InlineData("'x' is not a whole number from 1 to 4096", "--concurrency", "1,x")]
    [InlineData("--concurrency '1,,2' is not a comma-separated list", "--concurrency", "1,,2")]
    [InlineData("'0' is not a whole number", "--concurrency", "0")]
    [InlineData("'fast' is not a positive number of requests per second", "--rate", "1,fast")]
    [InlineData("--concurrency and --rate cannot be combined", "--concurrency", "1", "--rate", "2")]
    [InlineData("--rate replay needs --from-ledger", "--rate", "replay")]
    [InlineData("Cannot parse argument 'abc' for option '--requests'", "--requests", "abc")]
    [InlineData("--requests 0 must be from 1 to 1000000", "--requests", "0")]
    [InlineData("--duration '10x' is not a time", "--duration", "10x")]
    [InlineData("--slo-ttft 'soon' is not a time", "--slo-ttft", "soon")]
    [InlineData("--input-tokens 'lots' is not a token count", "--input-tokens", "lots")]
    [InlineData("--output-tokens '9-3' is not a token count", "--output-tokens", "9-3")]
    [InlineData("--dataset '/nonexistent/prompts.jsonl' does not exist", "--dataset", "/nonexistent/prompts.jsonl")]
    [InlineData("--input-tokens applies only to synthetic prompts", "--from-ledger", "--input-tokens", "64")]
    [InlineData("unexpected '--bogus'", "--bogus", "1")]
    [InlineData("--from-ledger: there is no ledger in '/nonexistent/data'", "--from-ledger", "--data-dir", "/nonexistent/data")]
    public async Task Bench_BadInput_OneLineAndExitCode2(string expected, params string[] args)
    {
        var run = await CapacityCli.RunInProcessAsync(["bench", "--url", Closed, "--model", "m", .. args]);

        CapacityCli.AssertUsageError(run, "bench", expected);
    }

    [Theory]
    [InlineData("bench", "--url", "--model", "--api-key", "--concurrency", "--rate", "--requests", "--duration", "--dataset", "--input-tokens", "--output-tokens", "--json", "--html")]
    [InlineData("plan", "MODEL", "--context", "--kv-type", "--hardware", "--memory", "--bandwidth", "--bench", "--target-rps", "--slo-e2e", "--json", "--html")]
    [InlineData("cost", "--bench", "--price", "--amortization", "--power", "--energy-price", "--utilization", "--cloud", "--data-dir", "--json")]
    public async Task Help_CapacityCommands_ListTheirContractFlags(string command, params string[] flags)
    {
        var (code, output, _) = await CapacityCli.RunInProcessAsync(command, "--help");

        Assert.Equal(0, code);
        Assert.All(flags, f => Assert.Contains(f, output));
    }

    [Fact]
    public async Task Bench_NoUrl_SaysItIsRequired()
    {
        // A real process: the exit code and stderr as a shell sees them.
        CapacityCli.AssertUsageError(await CapacityCli.RunAsync("bench", "--model", "m"), "bench", "--url is required");
        CapacityCli.AssertUsageError(await CapacityCli.RunInProcessAsync("bench", "--url", "ftp://x", "--model", "m"), "bench", "--url 'ftp://x' is not an http(s) URL");
    }

    [Theory]
    [InlineData("line 3: not valid JSON", "{\"prompt\":\"a\"}\n\n{\"prompt\": \"b\"\n")]
    [InlineData("line 2: no \"prompt\", \"messages\" or \"conversations\" field", "{\"prompt\":\"a\"}\n{\"text\":\"b\"}\n")]
    [InlineData("line 1: \"messages\" must be a non-empty array", "{\"messages\":[]}\n")]
    [InlineData("line 1: message 1 needs a string \"role\" and a \"content\"", "{\"messages\":[{\"content\":\"x\"}]}\n")]
    [InlineData("line 2: \"max_tokens\" must be a whole number", "{\"prompt\":\"a\"}\n{\"prompt\":\"b\",\"max_tokens\":-3}\n")]
    [InlineData("line 1: expected an object", "[1, 2]\n")]
    public async Task Bench_MalformedDataset_NamesTheLineAndExits2(string expected, string content)
    {
        var path = Path.Combine(CapacityCli.TempDir(), "prompts.jsonl");
        await File.WriteAllTextAsync(path, content);

        var run = await CapacityCli.RunInProcessAsync("bench", "--url", Closed, "--model", "m", "--dataset", path);

        CapacityCli.AssertUsageError(run, "bench", "prompts.jsonl " + (expected.StartsWith("line 1: expected", StringComparison.Ordinal) ? "element 1: expected" : expected));
    }

    [Fact]
    public async Task Bench_JsonLinesDataset_SendsThoseMessagesAndReportsTheSource()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        var dir = CapacityCli.TempDir();
        var dataset = Path.Combine(dir, "prompts.jsonl");
        await File.WriteAllLinesAsync(dataset,
        [
            """{"prompt": "Summarise the quarterly report", "max_tokens": 3}""",
            "",
            """{"messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": [{"type": "text", "text": "Name three rivers"}]}], "max_tokens": 5}""",
        ]);
        var json = Path.Combine(dir, "result.json");

        var run = await CapacityCli.RunAsync("bench", "--url", server.Url.ToString(), "--model", "ttft2-itl1-n3-usage", "--dataset", dataset,
            "--rate", "20", "--requests", "6", "--warmup", "0", "--seed", "7", "--json", json);

        Assert.True(run.Code == 0, run.Error + run.Output);
        var result = CapacityCli.ReadJson(json);
        Assert.Equal("dataset", result.GetProperty("source").GetProperty("kind").GetString());
        Assert.Equal(2, result.GetProperty("source").GetProperty("prompts").GetInt32());
        var level = result.GetProperty("levels")[0];
        Assert.Equal(("rate", 20.0), (level.GetProperty("load").GetProperty("kind").GetString(), level.GetProperty("load").GetProperty("value").GetDouble()));
        Assert.Equal(6, level.GetProperty("requests").GetProperty("succeeded").GetInt32());
        Assert.Equal(20, level.GetProperty("offered_rate_per_s").GetDouble());
        var bodies = server.Bodies.ToArray();
        Assert.Equal(6, bodies.Length);
        var firstMessages = bodies.Select(b => b.GetProperty("messages").EnumerateArray().Last().GetProperty("content").GetString()).ToHashSet();
        Assert.Equal(["Name three rivers", "Summarise the quarterly report"], firstMessages.Order());
        Assert.All(bodies.Where(b => b.GetProperty("messages").GetArrayLength() == 2), b => Assert.Equal(5, b.GetProperty("max_tokens").GetInt32()));
        Assert.All(bodies.Where(b => b.GetProperty("messages").GetArrayLength() == 1), b => Assert.Equal(3, b.GetProperty("max_tokens").GetInt32()));
    }

    [Fact]
    public async Task Bench_ShareGptDataset_PromptsAreTheHumanTurnsAndOutputFollowsTheReply()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        var dir = CapacityCli.TempDir();
        var dataset = Path.Combine(dir, "sharegpt.json");
        await File.WriteAllTextAsync(dataset, JsonSerializer.Serialize(new object[]
        {
            new { id = "a", conversations = new[] { new { from = "human", value = "What is a GPU?" }, new { from = "gpt", value = new string('x', 80) } } },
            new { id = "b", conversations = new[] { new { from = "gpt", value = "hello" } } },
            new { id = "c", conversations = new[] { new { from = "system", value = "Be kind" }, new { from = "human", value = "Hi" }, new { from = "gpt", value = new string('y', 40) } } },
        }));

        var run = await CapacityCli.RunAsync("bench", "--url", server.Url.ToString(), "--model", "ttft2-itl1-n2", "--dataset", dataset,
            "--concurrency", "2", "--requests", "4", "--warmup", "0", "--json", Path.Combine(dir, "r.json"));

        Assert.True(run.Code == 0, run.Error + run.Output);
        var source = CapacityCli.ReadJson(Path.Combine(dir, "r.json")).GetProperty("source");
        Assert.Equal("sharegpt.json (json-array, 2 prompts, 1 skipped)", source.GetProperty("description").GetString());
        var bodies = server.Bodies.ToArray();
        // 80 characters of reply ≈ 20 tokens; 40 ≈ 10.
        Assert.Contains(bodies, b => b.GetProperty("messages")[0].GetProperty("content").GetString() == "What is a GPU?" && b.GetProperty("max_tokens").GetInt32() == 20);
        Assert.Contains(bodies, b => b.GetProperty("messages").GetArrayLength() == 2 && b.GetProperty("messages")[0].GetProperty("role").GetString() == "system" && b.GetProperty("max_tokens").GetInt32() == 10);
    }

    [Fact]
    public async Task Bench_EveryRequestFails_StillWritesTheResultAndExits1()
    {
        var dir = CapacityCli.TempDir();
        var json = Path.Combine(dir, "r.json");

        var run = await CapacityCli.RunAsync("bench", "--url", Closed, "--model", "m", "--concurrency", "1,2", "--requests", "2", "--warmup", "0", "--json", json);

        Assert.Equal(1, run.Code);
        Assert.Contains("every request failed; first error: connection_refused", run.Error);
        var levels = CapacityCli.ReadJson(json).GetProperty("levels");
        Assert.All(levels.EnumerateArray(), l => Assert.Equal(2, l.GetProperty("requests").GetProperty("errors").GetProperty("connection_refused").GetInt32()));
    }
}
