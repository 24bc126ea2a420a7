using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Cli;

public sealed class ServeStartupTests
{
    [Fact]
    public async Task Serve_MalformedModelFile_RefusesToStartWithInvalidModelFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"broken-{Guid.NewGuid():N}.gguf");
        var bytes = await File.ReadAllBytesAsync(TestModels.Stories);
        await File.WriteAllBytesAsync(path, bytes.AsSpan(0, 4096).ToArray());
        try
        {
            await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("broken", path)], waitReady: false);

            Assert.Equal(2, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("invalid_model_file", gateway.Output);
            Assert.Contains("Models:broken:Path", gateway.Output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Serve_MissingModelFile_NamesTheSetting()
    {
        await using var gateway = await GatewayProcess.StartAsync([new ModelSpec("ghost", "/nonexistent/model.gguf")], waitReady: false);

        Assert.Equal(2, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Models:ghost:Path", gateway.Output);
        Assert.Contains("does not exist", gateway.Output);
    }

    [Fact]
    public async Task Serve_OutOfRangeSetting_FromEnvironment_NamesTheSetting()
    {
        await using var gateway = await GatewayProcess.StartAsync(
            [new ModelSpec("m", TestModels.Stories, new Dictionary<string, string> { ["Slots"] = "1000" })], waitReady: false);

        Assert.Equal(2, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Models:m:Slots", gateway.Output);
    }

    [Fact]
    public async Task Serve_ConfigFile_ServesItsModels()
    {
        var config = Path.Combine(Path.GetTempPath(), $"enclave-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, System.Text.Json.JsonSerializer.Serialize(new { Models = new { fromfile = new { Path = TestModels.Stories, Threads = 1, Slots = 2 } } }));
        try
        {
            await using var gateway = await GatewayProcess.StartAsync([], new Dictionary<string, string>(), waitReady: false, extraArgs: ["--config", config]);
            await gateway.WaitReadyAsync(TimeSpan.FromSeconds(60));

            var models = await gateway.OpenAi.GetOpenAIModelClient().GetModelsAsync();
            Assert.Equal("fromfile", Assert.Single(models.Value).Id);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task Serve_MissingConfigFile_Fails()
    {
        await using var gateway = await GatewayProcess.StartAsync([], waitReady: false, extraArgs: ["--config", "/nonexistent/enclave.json"]);

        Assert.Equal(2, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("does not exist", gateway.Output);
    }

    [Fact]
    public async Task Serve_BadModelFlag_ExplainsTheFormat()
    {
        await using var gateway = await GatewayProcess.StartAsync([], waitReady: false, extraArgs: ["--model", "just-a-path.gguf"]);

        Assert.Equal(2, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("NAME=PATH", gateway.Output);
    }

    [Fact]
    public async Task Serve_ModelNameWithColon_IsRefusedWithAlternative()
    {
        await using var gateway = await GatewayProcess.StartAsync([], waitReady: false, extraArgs: ["--model", $"llama3:8b={TestModels.Stories}"]);

        Assert.Equal(2, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("llama3-8b", gateway.Output);
    }
}
