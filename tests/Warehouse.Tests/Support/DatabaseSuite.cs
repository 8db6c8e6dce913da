using Dapper;
using Warehouse.Engines;
using Warehouse.Loading;
using Warehouse.Migrations;
using Warehouse.Sources;

namespace Warehouse.Tests.Support;

/// <summary>
/// The scaffolding shared by the per-engine suites: a fresh database per test (each subclass says
/// only how to get one), a temp folder for written files, and small query and load helpers.
/// An engine that is not here skips with a reason.
/// </summary>
public abstract class DatabaseSuite : IAsyncLifetime
{
    private TestDatabase? _database;

    protected CanonicalFiles Files { get; } = new();

    protected WarehouseEngine Engine => _database!.Engine;

    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>
    /// True: the schema is migrated before each test starts, and <see cref="LoadAsync"/> does not
    /// migrate again. False (the default): <see cref="LoadAsync"/> migrates before it loads.
    /// </summary>
    protected virtual bool MigrateOnInitialize => false;

    protected abstract Task<TestDatabase> CreateDatabaseAsync();

    public async ValueTask InitializeAsync()
    {
        _database = await CreateDatabaseAsync();
        if (MigrateOnInitialize)
        {
            new Migrator(Engine).Migrate();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Files.Dispose();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    protected async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Engine.OpenAsync(Token);
        return (await connection.ExecuteScalarAsync<T>(Engine.Sql(sql), parameters))!;
    }

    protected async Task<List<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Engine.OpenAsync(Token);
        return (await connection.QueryAsync<T>(Engine.Sql(sql), parameters)).ToList();
    }

    /// <summary>Loads one file with the real loader, migrating first unless the suite did at initialize.</summary>
    protected async Task<FileLoadResult> LoadAsync(string path, LoadOptions? options = null, SourceSettings? settings = null)
    {
        if (!MigrateOnInitialize)
        {
            new Migrator(Engine).Migrate();
        }

        return await new Loader(Engine, settings: settings).LoadFileAsync(path, options ?? new LoadOptions(), Token);
    }
}
