using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Telemetry;

/// <summary>Prompt text stays out of the logs unless trace logging is turned on for that purpose.</summary>
public sealed class PromptLogTests
{
    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    [Fact]
    public async Task ByDefault_PromptTextNeverReachesTheLog()
    {
        const string marker = "zebra-7d1f-confidential";
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories)]);
        (await gateway.Http.PostAsync("/v1/completions", Json(new { model = "stories", prompt = marker, max_tokens = 2 }))).Dispose();
        (await gateway.Http.PostAsync("/v1/completions", Json(new { model = "nope", prompt = marker }))).Dispose();
        (await gateway.Http.PostAsync("/v1/completions", new StringContent("{\"model\":\"stories\",\"prompt\":\"" + marker, Encoding.UTF8, "application/json"))).Dispose();
        await Task.Delay(300);

        Assert.DoesNotContain(marker, gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Prompt logging is ON", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithPromptTraceLogging_BodiesAreLoggedAsJsonLinesWithRequestAndTraceIds()
    {
        const string marker = "okapi-91c3-debugging";
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("stories", TestModels.Stories)],
            new Dictionary<string, string> { ["ENCLAVE__Logging__LogLevel__Enclave.Prompts"] = "Trace" });
        using var response = await gateway.Http.PostAsync("/v1/completions", Json(new { model = "stories", prompt = marker, max_tokens = 2 }));
        var requestId = response.Headers.GetValues("x-request-id").Single();

        string? line = null;
        var deadline = Deadline.In(TimeSpan.FromSeconds(5));
        while (!deadline.Passed && line is null)
        {
            line = gateway.Output.Split('\n').FirstOrDefault(l => l.Contains(marker, StringComparison.Ordinal));
            await Task.Delay(50);
        }

        Assert.NotNull(line);
        using var entry = JsonDocument.Parse(line);
        Assert.Equal("Enclave.Prompts", entry.RootElement.GetProperty("Category").GetString());
        Assert.Contains(requestId, line, StringComparison.Ordinal);
        Assert.Contains("TraceId", line, StringComparison.Ordinal);
        Assert.Contains("Prompt logging is ON", gateway.Output, StringComparison.Ordinal);
    }
}
