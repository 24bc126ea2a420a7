using System.Net;
using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Ui;

/// <summary>
/// The dashboard's totals against the usage ledger, on a gateway without keys (anonymous loopback mode, where the
/// dashboard needs no sign-in, like every other route).
/// </summary>
public sealed class DashboardTotalsTests
{
    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task LiveTotals_AfterMixedBurst_EqualTheLedger()
    {
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("chat", TestModels.StoriesChat)]);
        using (var page = await gateway.Http.GetAsync("/ui"))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("data-session=\"anonymous\"", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        string Chat(int maxTokens, string extra = "") =>
            $$"""{"model":"chat","messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":{{maxTokens}}{{extra}}}""";
        string[] bodies =
        [
            Chat(4), Chat(9), Chat(16), Chat(23), Chat(7),
            Chat(12, ""","stream":true,"stream_options":{"include_usage":true}"""),
            Chat(20, ""","stream":true,"stream_options":{"include_usage":true}"""),
            Chat(5, ""","stream":true"""),
            Chat(11, ""","stream":true"""),
            """{"model":"ghost","messages":[{"role":"user","content":"x"}]}""",
            """{"model":"ghost-2","messages":[{"role":"user","content":"x"}],"stream":true}""",
            """{"messages":[{"role":"user","content":"no model"}]}""",
            """{"model":"chat","messages":""",
        ];
        var completions = new[] { """{"model":"chat","prompt":"Once upon a time","max_tokens":6}""", """{"model":"chat","prompt":"The dog","max_tokens":13}""" };

        var sent = bodies.Select(b => (Path: "/v1/chat/completions", Body: b)).Concat(completions.Select(b => (Path: "/v1/completions", Body: b))).ToArray();
        var statuses = await Task.WhenAll(sent.Select(async r =>
        {
            using var response = await gateway.Http.PostAsync(r.Path, Json(r.Body));
            await response.Content.ReadAsStringAsync(); // to the last byte: [DONE] or the whole body
            return (int)response.StatusCode;
        }));
        Assert.Equal(11, statuses.Count(s => s == 200));
        Assert.Equal(4, statuses.Count(s => s >= 400));

        var live = JsonDocument.Parse(await gateway.Http.GetStringAsync("/ui/api/live")).RootElement;
        var totals = live.GetProperty("totals");
        var since = Uri.EscapeDataString(live.GetProperty("started_at").GetString()!);
        var rows = JsonDocument.Parse(await gateway.Http.GetStringAsync($"/admin/usage?by=model&since={since}")).RootElement.GetProperty("rows").EnumerateArray().ToList();

        Assert.Equal(sent.Length, totals.GetProperty("requests").GetInt64());
        Assert.Equal(rows.Sum(r => r.GetProperty("requests").GetInt64()), totals.GetProperty("requests").GetInt64());
        Assert.Equal(rows.Sum(r => r.GetProperty("errors").GetInt64()), totals.GetProperty("errors").GetInt64());
        Assert.Equal(rows.Sum(r => r.GetProperty("prompt_tokens").GetInt64()), totals.GetProperty("input_tokens").GetInt64());
        Assert.Equal(rows.Sum(r => r.GetProperty("completion_tokens").GetInt64()), totals.GetProperty("output_tokens").GetInt64());
        Assert.Equal(4, totals.GetProperty("client_errors").GetInt64());
        Assert.Equal(0, totals.GetProperty("server_errors").GetInt64());
        Assert.True(totals.GetProperty("output_tokens").GetInt64() > 11, "every successful request generated text");
    }
}
