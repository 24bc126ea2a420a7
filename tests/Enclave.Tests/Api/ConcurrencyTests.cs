using System.Text;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Api;

[Collection(SharedGatewayGroup.Name)]
public sealed class ConcurrencyTests(SharedGateway shared)
{
    private static readonly string[] Prompts =
    [
        "Once upon a time", "Lily and Ben", "The dog", "One day, a little boy", "The sun was", "Tom had a red", "In the park", "Mia liked to",
    ];

    private readonly GatewayProcess _gateway = shared.Gateway;

    private async Task<string> StreamAsync(string prompt)
    {
        var body = JsonSerializer.Serialize(new { model = "stories", prompt, max_tokens = 48, temperature = 0, stream = true });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await _gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = await Sse.ReadEventsAsync(response);
        Assert.Equal("[DONE]", events[^1]);
        return Sse.Content(events, chat: false);
    }

    [Fact]
    public async Task EightConcurrentStreams_EachEqualsSameRequestServedAlone()
    {
        var alone = new List<string>();
        foreach (var prompt in Prompts)
        {
            alone.Add(await StreamAsync(prompt));
        }

        for (var round = 0; round < 2; round++)
        {
            var together = await Task.WhenAll(Prompts.Select(StreamAsync));
            for (var i = 0; i < Prompts.Length; i++)
            {
                Assert.False(string.IsNullOrEmpty(together[i]));
                Assert.Equal(alone[i], together[i]);
            }
        }
    }
}
