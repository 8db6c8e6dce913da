namespace Warehouse.Benchmarks.Databases;

/// <summary>DuckDB: a new database file in the work folder per measurement, deleted afterwards.</summary>
internal sealed class DuckDbDatabases(string folder) : DatabaseFactory
{
    public override string EngineName => "duckdb";

    public override Task<string?> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public override Task<BenchmarkDatabase> CreateAsync(string label, CancellationToken cancellationToken)
    {
        var path = Path.Combine(folder, UniqueName(label) + ".duckdb");
        return Task.FromResult(new BenchmarkDatabase(EngineName, path, () =>
        {
            foreach (var file in new[] { path, path + ".wal" })
            {
                File.Delete(file);
            }

            return Task.CompletedTask;
        }));
    }
}
