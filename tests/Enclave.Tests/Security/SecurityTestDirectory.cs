using Enclave.Storage;
using Microsoft.Data.Sqlite;

namespace Enclave.Tests.Security;

/// <summary>A fresh data directory under the temp folder, deleted (with pooled SQLite connections cleared) on dispose.</summary>
public sealed class SecurityTestDirectory : IDisposable
{
    public SecurityTestDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "enclave-security-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
        Database = new EnclaveDatabase(Path);
    }

    public string Path { get; }

    public EnclaveDatabase Database { get; }

    /// <summary>A plain connection for reading or tampering with tables behind the stores' backs.</summary>
    public SqliteConnection OpenRaw()
    {
        var connection = new SqliteConnection($"Data Source={Database.DatabasePath};Pooling=False");
        connection.Open();
        return connection;
    }

    public void Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var connection = OpenRaw();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        command.ExecuteNonQuery();
    }

    /// <summary>Every byte SQLite holds for the database: the main file, the WAL and the shared-memory index.</summary>
    public byte[] RawDatabaseBytes()
    {
        var bytes = new List<byte>();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            var file = Database.DatabasePath + suffix;
            if (File.Exists(file))
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                bytes.AddRange(copy.ToArray());
            }
        }

        return [.. bytes];
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a process still writing must not fail the test that already passed.
        }
    }
}
