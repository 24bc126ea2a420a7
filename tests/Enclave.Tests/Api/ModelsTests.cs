using System.Net;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Api;

[Collection(SharedGatewayGroup.Name)]
public sealed class ModelsTests(SharedGateway shared)
{
    private readonly GatewayProcess _gateway = shared.Gateway;

    [Fact]
    public async Task ListModels_OfficialSdk_ListsEveryConfiguredModel()
    {
        var models = await _gateway.OpenAi.GetOpenAIModelClient().GetModelsAsync();

        Assert.Equal(["bert", "chat", "stories", "tiny"], models.Value.Select(m => m.Id).Order().ToArray());
        Assert.All(models.Value, m => Assert.Equal("enclave", m.OwnedBy));
    }

    [Fact]
    public async Task GetModel_Unknown_Is404ModelNotFound()
    {
        using var response = await _gateway.Http.GetAsync("/v1/models/nope");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("model_not_found", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HealthAndReadiness_AnswerWithoutModelsWork()
    {
        using var health = await _gateway.Http.GetAsync("/healthz");
        using var ready = await _gateway.Http.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("\"ready\"", await ready.Content.ReadAsStringAsync());
        Assert.True(health.Headers.Contains("x-request-id"));
    }
}
