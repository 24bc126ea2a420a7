using System.Text;
using System.Text.Json;
using static Enclave.Tests.Backends.Remote.RemoteApi;

namespace Enclave.Tests.Backends.Remote;

/// <summary>
/// Clients cannot steer the upstream (RELIABILITY.md §1b API3, bad-input row 25): a field that names a host, URL or
/// backend at any depth is refused with 400 <c>unknown_parameter</c> and the JSON path, and nothing is
/// forwarded; JSON-schema subtrees (tool parameters, response_format schemas) may describe such fields freely.
/// </summary>
public sealed class SteeringTests(WallGatewayFixture fixture) : IClassFixture<WallGatewayFixture>
{
    private const string Messages = """ "messages":[{"role":"user","content":"Hi"}] """;

    /// <summary>A chat body for model <c>ok</c> with <paramref name="fields"/> (JSON members) added after the messages.</summary>
    private static string With(string fields) => "{\"model\":\"ok\"," + Messages.Trim() + "," + fields + "}";

    /// <summary>(body, expected param). One gateway serves all cases; each case is checked and all failures reported together.</summary>
    private static readonly (string Body, string Param)[] Refused =
    [
        (With(""" "base_url":"http://169.254.169.254/v1" """), "base_url"),
        (With(""" "baseURL":"http://10.0.0.1" """), "baseURL"),
        (With(""" "api_base":"http://evil" """), "api_base"),
        (With(""" "apiBase":"http://evil" """), "apiBase"),
        (With(""" "HOST":"evil.example" """), "HOST"),
        (With(""" "backend":"other" """), "backend"),
        (With(""" "Upstream":"http://evil" """), "Upstream"),
        (With(""" "endpoint":"http://evil" """), "endpoint"),
        (With(""" "url":"http://evil" """), "url"),
        ("""{"model":"ok","messages":[{"role":"user","content":"Hi","upstream":"http://evil"}]}""", "messages[0].upstream"),
        (With(""" "metadata":{"a":[{"b":{"Endpoint":"http://evil"}}]} """), "metadata.a[0].b.Endpoint"),
        (With(""" "extra_body":{"deep":{"deeper":[0,{"base_url":"http://evil"}]}} """), "extra_body.deep.deeper[1].base_url"),
        // A schema-like shape outside the schema subtrees is not exempt.
        (With(""" "tools":[{"type":"function","function":{"name":"f","parameters":{}},"url":"http://evil"}] """), "tools[0].url"),
    ];

    private static readonly string[] Allowed =
    [
        // A tool whose parameters (a JSON schema) describe url/host/endpoint arguments.
        With(""" "tools":[{"type":"function","function":{"name":"fetch","description":"d","parameters":{"type":"object","properties":{"url":{"type":"string"},"host":{"type":"string"},"endpoint":{"type":"object","properties":{"base_url":{"type":"string"}}}},"required":["url"]}}}] """),
        // A structured-output schema with a field called endpoint.
        With(""" "response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object","properties":{"endpoint":{"type":"string"},"backend":{"type":"string"}}}}} """),
        // Field values (not names) that look like URLs are content.
        """{"model":"ok","messages":[{"role":"user","content":"base_url: http://example.com, host=upstream"}]}""",
    ];

    [Fact]
    public async Task SteeringField_AtAnyDepthAndCase_Refused400WithItsPath_NothingForwarded()
    {
        var (wall, gateway) = (fixture.Wall, fixture.Gateway);
        var before = wall.Inference.Count;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var failures = new StringBuilder();

        foreach (var (body, param) in Refused)
        {
            var (status, answer, _, _) = await SendAsync(gateway, body, cts.Token);
            var error = status == 400 ? Envelope(answer) : default;
            if (status != 400 || Code(error) != "unknown_parameter" || error.GetProperty("param").GetString() != param
                || error.GetProperty("type").GetString() != "invalid_request_error")
            {
                failures.AppendLine($"  {param}: expected 400 unknown_parameter param={param}, got {status} {Trim(answer)}");
            }
        }

        Assert.True(failures.Length == 0, "steering fields not refused as expected:\n" + failures);
        Assert.Equal(before, wall.Inference.Count);
    }

    [Fact]
    public async Task SteeringNames_InsideToolParametersAndJsonSchemas_AreAllowed_AndForwardedIntact()
    {
        var (wall, gateway) = (fixture.Wall, fixture.Gateway);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var failures = new StringBuilder();
        foreach (var body in Allowed)
        {
            var (status, answer, _, _) = await SendAsync(gateway, body, cts.Token);
            if (status != 200)
            {
                failures.AppendLine($"  refused: {status} {Trim(answer)}\n    body: {body}");
            }
            else if (JsonNode(body) != JsonNode(wall.Inference[^1].Body))
            {
                failures.AppendLine($"  forwarded body differs:\n    sent:      {body}\n    forwarded: {wall.Inference[^1].Body}");
            }
        }

        Assert.True(failures.Length == 0, "legitimate requests mishandled:\n" + failures);
    }

    /// <summary>
    /// Vision requests carry <c>messages[].content[].image_url.url</c> in OpenAI's own schema; refusing every field named
    /// <c>url</c> would break every image request. (The brief's "any depth" rule taken literally refuses it; users expect it to work.)
    /// </summary>
    [Fact]
    public async Task ImageUrlInAMessagePart_IsOpenAisOwnField_Allowed()
    {
        var (wall, gateway) = (fixture.Wall, fixture.Gateway);
        var before = wall.Inference.Count;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        const string body = """{"model":"ok","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"low"}}]}]}""";

        var (status, answer, _, _) = await SendAsync(gateway, body, cts.Token);

        Assert.True(status == 200, $"a vision request was refused: {status} {Trim(answer)}");
        Assert.Equal(before + 1, wall.Inference.Count);
    }

    [Fact]
    public async Task ApiKeyAndExtraHeaders_StillRefused_NothingForwarded()
    {
        var (wall, gateway) = (fixture.Wall, fixture.Gateway);
        var before = wall.Inference.Count;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        foreach (var (field, value) in new[] { ("api_key", "\"sk-x\""), ("extra_headers", "{\"Host\":\"evil\"}") })
        {
            var (status, answer, _, _) = await SendAsync(gateway, With($"\"{field}\":{value}"), cts.Token);
            Assert.True(status == 400, $"{field}: expected 400, got {status} {Trim(answer)}");
            Assert.Equal(field, Envelope(answer).GetProperty("param").GetString());
        }

        Assert.Equal(before, wall.Inference.Count);
    }

    private static string JsonNode(string json) => System.Text.Json.Nodes.JsonNode.Parse(json)!.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
}
