using Npgsql;

namespace Warehouse.Benchmarks.Databases;

/// <summary>PostgreSQL: CREATE DATABASE per measurement through a login that may create databases; dropped afterwards.</summary>
internal sealed class PostgresDatabases(string adminConnection) : DatabaseFactory
{
    public override string EngineName => "postgres";

    public override async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(adminConnection);
            await connection.OpenAsync(cancellationToken);
            return null;
        }
        catch (Exception error) when (error is NpgsqlException or InvalidOperationException or ArgumentException)
        {
            return $"PostgreSQL not reachable ({error.Message.Split('\n')[0]})";
        }
    }

    public override async Task<BenchmarkDatabase> CreateAsync(string label, CancellationToken cancellationToken)
    {
        var name = UniqueName(label);
        await ExecuteAsync($"create database {name}", cancellationToken);
        var connection = new NpgsqlConnectionStringBuilder(adminConnection) { Database = name }.ConnectionString;
        return new BenchmarkDatabase(EngineName, connection, () => DropAsync(name));
    }

    /// <summary>
    /// Plain DROP DATABASE first: it stops an autovacuum worker analyzing the fresh tables (which
    /// WITH (FORCE) may not terminate for a login without pg_signal_backend); FORCE is the fallback
    /// for a client session the benchmark left behind.
    /// </summary>
    private async Task DropAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteAsync(attempt <= 3 ? $"drop database if exists {name}" : $"drop database if exists {name} with (force)", CancellationToken.None);
                return;
            }
            catch (PostgresException) when (attempt < 5)
            {
                await Task.Delay(TimeSpan.FromSeconds(attempt));
            }
        }
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(adminConnection);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
