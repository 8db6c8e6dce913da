using Microsoft.Data.SqlClient;

namespace Warehouse.Benchmarks.Databases;

/// <summary>SQL Server: CREATE DATABASE per measurement (the login needs dbcreator); dropped afterwards.</summary>
internal sealed class SqlServerDatabases(string adminConnection) : DatabaseFactory
{
    public override string EngineName => "sqlserver";

    public override async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            var quick = new SqlConnectionStringBuilder(adminConnection) { ConnectTimeout = 5 }.ConnectionString;
            await using var connection = new SqlConnection(quick);
            await connection.OpenAsync(cancellationToken);
            return null;
        }
        catch (Exception error) when (error is SqlException or InvalidOperationException or ArgumentException)
        {
            return $"SQL Server not reachable ({error.Message.Split('\n')[0]})";
        }
    }

    public override async Task<BenchmarkDatabase> CreateAsync(string label, CancellationToken cancellationToken)
    {
        var name = UniqueName(label);
        await ExecuteAsync($"create database [{name}]", cancellationToken);
        var connection = new SqlConnectionStringBuilder(adminConnection) { InitialCatalog = name }.ConnectionString;
        return new BenchmarkDatabase(EngineName, connection, async () =>
        {
            SqlConnection.ClearAllPools();
            await ExecuteAsync($"if db_id('{name}') is not null begin alter database [{name}] set single_user with rollback immediate; drop database [{name}]; end",
                CancellationToken.None);
        });
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = new SqlConnection(adminConnection);
        await connection.OpenAsync(cancellationToken);
        await using var command = new SqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
