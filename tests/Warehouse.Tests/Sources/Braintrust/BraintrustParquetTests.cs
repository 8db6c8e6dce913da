using System.Text.Json;
using Dapper;
using Parquet;
using Parquet.Schema;
using Warehouse.Loading;
using Warehouse.Migrations;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Sources.Braintrust;

/// <summary>A Braintrust export written as Parquet (objects as JSON text) loads to the rows of its JSON Lines form.</summary>
public sealed class BraintrustParquetTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Fixture => Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval", "braintrust", "experiment-refund-v4.jsonl");

    private async Task<string> WriteParquetAsync()
    {
        var events = File.ReadLines(Fixture).Where(line => line.Trim().Length > 0).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var names = events.SelectMany(item => item.EnumerateObject().Select(property => property.Name)).Distinct().Where(name => name != "is_root").ToList();
        var textFields = names.Select(name => new DataField<string>(name)).ToList();
        var isRoot = new DataField<bool?>("is_root");
        var path = Path.Combine(_files.Folder, "experiment.parquet");
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema([.. textFields, isRoot]), stream,
            cancellationToken: TestContext.Current.CancellationToken);
        using var group = writer.CreateRowGroup();
        foreach (var field in textFields)
        {
            // As an export writes them: strings as strings, objects and arrays as JSON text.
            await group.WriteAsync(field, events.Select(item => item.TryGetProperty(field.Name, out var value) && value.ValueKind != JsonValueKind.Null
                ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText()
                : null).ToArray());
        }

        await group.WriteAsync(isRoot, new ReadOnlyMemory<bool?>(events.Select(item =>
            item.TryGetProperty("is_root", out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : (bool?)null).ToArray()),
            cancellationToken: TestContext.Current.CancellationToken);
        return path;
    }

    private static async Task<List<(string, string, int, double?, string, string, string)>> LoadAsync(string path)
    {
        await using var database = await TestDatabases.DuckDbAsync();
        new Migrator(database.Engine).Migrate();
        var result = await new Loader(database.Engine).LoadFileAsync(path, new LoadOptions(), TestContext.Current.CancellationToken);
        Assert.True(result.Status == FileLoadStatus.Loaded, result.Message);
        await using var connection = await database.Engine.OpenAsync(TestContext.Current.CancellationToken);
        return (await connection.QueryAsync<(string, string, int, double?, string, string, string)>(
            "select case_id, metric, epoch, score, model_version, customer_tier, eval_run_id from quality.eval_records order by case_id, metric, epoch")).ToList();
    }

    [Fact]
    public async Task A_parquet_export_loads_the_rows_of_its_json_lines_form()
    {
        var parquet = await WriteParquetAsync();

        Assert.Equal("braintrust-parquet", SourceDetector.Detect(parquet).Format.Name);
        var fromJsonl = await LoadAsync(Fixture);
        var fromParquet = await LoadAsync(parquet);

        Assert.NotEmpty(fromJsonl);
        Assert.Equal(fromJsonl, fromParquet);
    }
}
