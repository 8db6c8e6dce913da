using System.Data.Common;
using Warehouse.Engines;
using Warehouse.Migrations;

namespace Warehouse.Benchmarks.Databases;

/// <summary>One fresh database on one engine, dropped when the measurement that needed it is done.</summary>
internal sealed class BenchmarkDatabase(string engineName, string connectionString, Func<Task> drop) : IAsyncDisposable
{
    public string EngineName { get; } = engineName;

    /// <summary>What `warehouse --connection` takes (a file path for DuckDB).</summary>
    public string ConnectionString { get; } = connectionString;

    public WarehouseEngine Engine { get; } = WarehouseEngine.Create(engineName, connectionString);

    /// <summary>Brings the schema up to date in this process, so a measured load times loading only.</summary>
    public void Migrate() => new Migrator(Engine).Migrate();

    public Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => Engine.OpenAsync(cancellationToken);

    public ValueTask DisposeAsync() => new(drop());
}

/// <summary>Where fresh databases come from: a file per database, or CREATE DATABASE on a server.</summary>
internal abstract class DatabaseFactory
{
    public abstract string EngineName { get; }

    /// <summary>Null when the engine answers; else one sentence why it cannot be measured.</summary>
    public abstract Task<string?> ProbeAsync(CancellationToken cancellationToken);

    public abstract Task<BenchmarkDatabase> CreateAsync(string label, CancellationToken cancellationToken);

    /// <summary>A lower-case name no other run uses: wh_bench_&lt;label&gt;_&lt;12 hex digits&gt;.</summary>
    protected static string UniqueName(string label) => $"wh_bench_{label}_{Guid.NewGuid():N}"[..("wh_bench_".Length + label.Length + 13)];
}
