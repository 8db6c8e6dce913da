using Dapper;
using Parquet;
using Parquet.Schema;
using Warehouse.Loading;
using Warehouse.Migrations;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Sources;

/// <summary>Canonical Parquet loads like canonical CSV and JSON Lines: same columns, same typing rules.</summary>
public sealed class CanonicalParquetTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    public void Dispose() => _files.Dispose();

    private async Task<string> WriteTracesAsync(string name, int rowGroups, int rowsPerGroup)
    {
        var path = Path.Combine(_files.Folder, name);
        var traceId = new DataField<string>("trace_id");
        var startedAt = new DataField<DateTime>("started_at");
        var latency = new DataField<double?>("latency_ms");
        var isError = new DataField<bool>("is_error");
        var tier = new DataField<string>("customer_tier");
        var contextTokens = new DataField<long?>("context_tokens");
        var region = new DataField<string>("region");
        var schema = new ParquetSchema(traceId, startedAt, latency, isError, tier, contextTokens, region);
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, stream);
        for (var group = 0; group < rowGroups; group++)
        {
            var rows = Enumerable.Range(group * rowsPerGroup, rowsPerGroup).ToList();
            using var rowGroup = writer.CreateRowGroup();
            await rowGroup.WriteAsync(traceId, rows.Select(row => $"tr-{row:D5}").ToArray());
            await rowGroup.WriteAsync(startedAt, new ReadOnlyMemory<DateTime>(rows.Select(row => new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(row)).ToArray()), cancellationToken: TestContext.Current.CancellationToken);
            await rowGroup.WriteAsync(latency, new ReadOnlyMemory<double?>(rows.Select(row => row % 10 == 0 ? (double?)null : 100.5 + row).ToArray()), cancellationToken: TestContext.Current.CancellationToken);
            await rowGroup.WriteAsync(isError, new ReadOnlyMemory<bool>(rows.Select(row => row % 4 == 0).ToArray()), cancellationToken: TestContext.Current.CancellationToken);
            await rowGroup.WriteAsync(tier, rows.Select(row => row % 2 == 0 ? "enterprise" : "").ToArray());
            await rowGroup.WriteAsync(contextTokens, new ReadOnlyMemory<long?>(rows.Select(row => row % 3 == 0 ? (long?)40_000 : null).ToArray()), cancellationToken: TestContext.Current.CancellationToken);
            await rowGroup.WriteAsync(region, rows.Select(row => "eu").ToArray());
        }

        return path;
    }

    [Fact]
    public async Task A_canonical_parquet_file_loads_every_row_group_with_the_csv_rules()
    {
        var path = await WriteTracesAsync("traces.parquet", rowGroups: 3, rowsPerGroup: 400);
        await using var database = await TestDatabases.DuckDbAsync();
        new Migrator(database.Engine).Migrate();

        var result = await new Loader(database.Engine).LoadFileAsync(path, new LoadOptions(), TestContext.Current.CancellationToken);
        var again = await new Loader(database.Engine).LoadFileAsync(path, new LoadOptions(), TestContext.Current.CancellationToken);

        Assert.True(result.Status == FileLoadStatus.Loaded, result.Message);
        Assert.Equal(("canonical-parquet", 1200L), (result.Format, result.RowsInserted));
        Assert.Equal(FileLoadStatus.Skipped, again.Status);
        await using var connection = await database.Engine.OpenAsync(TestContext.Current.CancellationToken);
        var row = await connection.QuerySingleAsync<(string, double?, bool, string, string, string)>(
            "select trace_id, latency_ms, is_error, customer_tier, context_band, attributes from quality.trace_summaries where trace_id = 'tr-00801'");
        Assert.Equal(("tr-00801", 901.5, false, "unknown", ">=32k", """{"region":"eu"}"""), row);
        Assert.Equal(120L, await connection.ExecuteScalarAsync<long>("select count(*) from quality.trace_summaries where latency_ms is null"));
        Assert.Equal(400L, await connection.ExecuteScalarAsync<long>("select count(*) from quality.trace_summaries where context_band = '>=32k'"));
        Assert.Equal(new DateTime(2026, 11, 1, 19, 59, 0), await connection.ExecuteScalarAsync<DateTime>("select started_at from quality.trace_summaries where trace_id = 'tr-01199'"));
    }

    [Fact]
    public async Task A_parquet_file_without_canonical_columns_is_refused_with_its_name()
    {
        var path = Path.Combine(_files.Folder, "other.parquet");
        await using (var stream = File.Create(path))
        {
            var field = new DataField<int>("something");
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(field), stream, cancellationToken: TestContext.Current.CancellationToken);
            using var rowGroup = writer.CreateRowGroup();
            await rowGroup.WriteAsync(field, new ReadOnlyMemory<int>([1, 2]), cancellationToken: TestContext.Current.CancellationToken);
        }

        var error = Assert.Throws<LoadException>(() => SourceDetector.Detect(path));

        Assert.Contains("other.parquet", error.Message);
    }
}
