using System.Diagnostics;
using System.Text.Json;
using Enclave.Tests.Infrastructure;

namespace Enclave.Tests.Cli;

public sealed class CliTests
{
    private static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => EnclaveCommand.RunAsync(args);

    [Theory]
    [InlineData("serve")]
    [InlineData("models")]
    [InlineData("models", "show")]
    [InlineData("doctor")]
    public async Task Help_EveryCommand_DescribesItself(params string[] command)
    {
        var (code, output, _) = await RunAsync([.. command, "--help"]);

        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
    }

    [Fact]
    public async Task ServeHelp_ListsContractFlags()
    {
        var (_, output, _) = await RunAsync("serve", "--help");

        foreach (var flag in new[] { "--config", "--urls", "--model", "--data-dir" })
        {
            Assert.Contains(flag, output);
        }
    }

    [Fact]
    public async Task ModelsShow_RealModel_PrintsMetadata()
    {
        var (code, output, _) = await RunAsync("models", "show", TestModels.StoriesChat, "--json");

        Assert.Equal(0, code);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal("llama", json.GetProperty("architecture").GetString());
        Assert.Equal("292800", json.GetProperty("parameters").GetString());
        Assert.Equal("2048", json.GetProperty("context_length").GetString());
        Assert.Equal("5", json.GetProperty("layers").GetString());
        Assert.Contains("<|im_start|>", json.GetProperty("chat_template").GetString());
    }

    [Fact]
    public async Task ModelsShow_Table_ShowsArchitecture()
    {
        var (code, output, _) = await RunAsync("models", "show", TestModels.Bert);

        Assert.Equal(0, code);
        Assert.Contains("bert", output);
        Assert.Contains("30522", output);
    }

    [Fact]
    public async Task ModelsShow_NotGguf_FailsWithInvalidModelFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"not-a-model-{Guid.NewGuid():N}.gguf");
        await File.WriteAllTextAsync(path, "this is not a gguf file at all");
        try
        {
            var (code, _, error) = await RunAsync("models", "show", path);

            Assert.Equal(1, code);
            Assert.Contains("invalid_model_file", error);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Doctor_FindsBundledLibraryAndCpuBackend()
    {
        var (code, output, _) = await RunAsync("doctor");

        Assert.Equal(0, code);
        Assert.Contains("v0.5.0", output);
        Assert.Contains("libggml-cpu-", output);
        Assert.Contains("ready", output);
    }

    [Fact]
    public async Task Doctor_BadLibraryFolder_SaysWhatIsWrong()
    {
        var info = new ProcessStartInfo(GatewayProcess.EnclaveExecutable, ["doctor"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["ENCLAVE_LLAMA_LIB_DIR"] = "/nonexistent/llama";
        info.Environment["COLUMNS"] = "200";
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(1, process.ExitCode);
        Assert.Contains("problem", await output);
        Assert.Contains("'/nonexistent/llama' does not exist", error);
    }
}
