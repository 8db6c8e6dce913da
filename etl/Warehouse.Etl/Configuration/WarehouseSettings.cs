using Microsoft.Extensions.Configuration;
using Warehouse.Engines;

namespace Warehouse.Configuration;

/// <summary>A configuration problem the user must fix; the console exits with code 2.</summary>
public sealed class ConfigurationException(string message) : Exception(message);

/// <summary>
/// Engine and connection, resolved from (highest first) the command line, the environment
/// (WAREHOUSE_ENGINE, WAREHOUSE_CONNECTION), and appsettings.json in the working directory.
/// With nothing set, the embedded DuckDB file warehouse.duckdb in the working directory.
/// </summary>
public sealed record WarehouseSettings(string Engine, string Connection)
{
    public static IConfiguration LoadConfiguration(string? workingDirectory = null, IDictionary<string, string?>? environment = null)
    {
        var builder = new ConfigurationBuilder()
            .SetBasePath(workingDirectory ?? Directory.GetCurrentDirectory())
            .AddJsonFile("appsettings.json", optional: true, reloadOnChange: false);
        if (environment is null)
        {
            builder.AddEnvironmentVariables("WAREHOUSE_");
        }
        else
        {
            builder.AddInMemoryCollection(environment
                .Where(pair => pair.Key.StartsWith("WAREHOUSE_", StringComparison.OrdinalIgnoreCase))
                .Select(pair => KeyValuePair.Create(pair.Key["WAREHOUSE_".Length..], pair.Value)));
        }

        try
        {
            return builder.Build();
        }
        catch (Exception error) when (error is FormatException or InvalidDataException or System.Text.Json.JsonException)
        {
            throw new ConfigurationException($"appsettings.json could not be read: {error.Message}");
        }
    }

    public static WarehouseSettings Resolve(string? engineOption, string? connectionOption, IConfiguration configuration)
    {
        var engine = FirstNonEmpty(engineOption, configuration["Engine"]) ?? "duckdb";
        engine = engine.Trim().ToLowerInvariant();
        if (engine is not ("duckdb" or "postgres" or "postgresql" or "sqlserver" or "mssql"))
        {
            throw new ConfigurationException($"unknown engine '{engine}': use duckdb, postgres or sqlserver (--engine or WAREHOUSE_ENGINE)");
        }

        var connection = FirstNonEmpty(connectionOption, configuration["Connection"]);
        if (connection is null)
        {
            if (engine != "duckdb")
            {
                throw new ConfigurationException(
                    $"engine {engine} needs a connection string: pass --connection \"...\" or set WAREHOUSE_CONNECTION");
            }

            connection = DuckDbEngine.DefaultFile;
        }

        return new WarehouseSettings(engine, connection.Trim());
    }

    public WarehouseEngine CreateEngine()
    {
        try
        {
            return WarehouseEngine.Create(Engine, Connection);
        }
        catch (ArgumentException error)
        {
            throw new ConfigurationException($"the connection string for {Engine} is not valid: {ConnectionStrings.Scrub(error.Message, Connection)}");
        }
    }

    private static string? FirstNonEmpty(params string?[] values) => values.FirstOrDefault(value => !string.IsNullOrWhiteSpace(value));
}
