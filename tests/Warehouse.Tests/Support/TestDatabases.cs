using Npgsql;
using Testcontainers.MsSql;
using Testcontainers.PostgreSql;
using Warehouse.Engines;

namespace Warehouse.Tests.Support;

/// <summary>A fresh, empty warehouse database for one test, dropped afterwards.</summary>
public sealed class TestDatabase(WarehouseEngine engine, Func<Task> drop) : IAsyncDisposable
{
    public WarehouseEngine Engine { get; } = engine;

    public async ValueTask DisposeAsync() => await drop();
}

/// <summary>
/// Where each engine's throwaway databases come from. DuckDB: a temp file, always. PostgreSQL:
/// the server in WAREHOUSE_TEST_POSTGRES (CI starts one), else a Testcontainers server when Docker
/// answers. SQL Server: Testcontainers only. A missing engine yields a skip reason, never a pass.
/// </summary>
public static class TestDatabases
{
    public const string PostgresVariable = "WAREHOUSE_TEST_POSTGRES";
    public const string SqlServerVariable = "WAREHOUSE_TEST_SQLSERVER";

    private static readonly Lazy<Task<(string? Connection, string? SkipReason)>> Postgres = new(StartPostgresAsync);
    private static readonly Lazy<Task<(string? Connection, string? SkipReason)>> SqlServer = new(StartSqlServerAsync);

    public static string NewName(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..30];

    public static Task<TestDatabase> DuckDbAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), NewName("wh_duck"));
        Directory.CreateDirectory(folder);
        var engine = new DuckDbEngine(Path.Combine(folder, "warehouse.duckdb"));
        return Task.FromResult(new TestDatabase(engine, () =>
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open by a pooled connection is cleaned with the temp folder.
            }

            return Task.CompletedTask;
        }));
    }

    public static async Task<TestDatabase> PostgresAsync()
    {
        var (server, skipReason) = await Postgres.Value;
        if (server is null)
        {
            Assert.Skip(skipReason!);
        }

        var name = NewName("wh_test");
        await using (var admin = new NpgsqlConnection(server))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {name}", admin);
            await create.ExecuteNonQueryAsync();
        }

        var connection = new NpgsqlConnectionStringBuilder(server) { Database = name, Pooling = false }.ConnectionString;
        return new TestDatabase(new PostgresEngine(connection), () => DropPostgresDatabaseAsync(server, name));
    }

    /// <summary>
    /// Best effort: `with (force)` may not terminate a server process of another role (autovacuum),
    /// so a failed drop is retried once plainly and then left to the throwaway server; a test's
    /// outcome never depends on its cleanup.
    /// </summary>
    private static async Task DropPostgresDatabaseAsync(string server, string name)
    {
        NpgsqlConnection.ClearAllPools();
        foreach (var sql in new[] { $"drop database if exists {name} with (force)", $"drop database if exists {name}" })
        {
            try
            {
                await using var admin = new NpgsqlConnection(server);
                await admin.OpenAsync();
                await using var drop = new NpgsqlCommand(sql, admin);
                await drop.ExecuteNonQueryAsync();
                return;
            }
            catch (PostgresException)
            {
                await Task.Delay(500);
            }
        }
    }

    public static async Task<TestDatabase> SqlServerAsync()
    {
        var (server, skipReason) = await SqlServer.Value;
        if (server is null)
        {
            Assert.Skip(skipReason!);
        }

        var name = NewName("wh_test");
        await using (var admin = new Microsoft.Data.SqlClient.SqlConnection(server))
        {
            await admin.OpenAsync();
            await using var create = new Microsoft.Data.SqlClient.SqlCommand($"create database [{name}]", admin);
            await create.ExecuteNonQueryAsync();
        }

        var connection = new Microsoft.Data.SqlClient.SqlConnectionStringBuilder(server) { InitialCatalog = name, Pooling = false }.ConnectionString;
        return new TestDatabase(new SqlServerEngine(connection), async () =>
        {
            await using var admin = new Microsoft.Data.SqlClient.SqlConnection(server);
            await admin.OpenAsync();
            await using var drop = new Microsoft.Data.SqlClient.SqlCommand(
                $"alter database [{name}] set single_user with rollback immediate; drop database [{name}]", admin);
            await drop.ExecuteNonQueryAsync();
        });
    }

    private static async Task<(string?, string?)> StartPostgresAsync()
    {
        var configured = Environment.GetEnvironmentVariable(PostgresVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return (configured, null);
        }

        try
        {
            var container = new PostgreSqlBuilder("postgres:16-alpine").Build();
            await container.StartAsync();
            return (container.GetConnectionString(), null);
        }
        catch (Exception error)
        {
            return (null, $"PostgreSQL tests need {PostgresVariable} or a Docker engine for Testcontainers; neither is here ({error.GetType().Name}: {FirstLine(error.Message)})");
        }
    }

    private static async Task<(string?, string?)> StartSqlServerAsync()
    {
        var configured = Environment.GetEnvironmentVariable(SqlServerVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return (configured, null);
        }

        try
        {
            var container = new MsSqlBuilder("mcr.microsoft.com/mssql/server:2022-latest").Build();
            await container.StartAsync();
            return (container.GetConnectionString(), null);
        }
        catch (Exception error)
        {
            return (null, $"SQL Server tests need a Docker engine for Testcontainers.MsSql (or {SqlServerVariable}); none answered ({error.GetType().Name}: {FirstLine(error.Message)})");
        }
    }

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();
}
