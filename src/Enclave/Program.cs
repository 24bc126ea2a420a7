using Enclave.Cli;

return await EnclaveCli.RunAsync(args);
