using System.Globalization;
using System.Text;
using Dapper;
using Parquet;
using Parquet.Schema;
using Warehouse.Loading;
using Warehouse.Migrations;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Sources.Mlflow;

/// <summary>The MLflow results table saved as Parquet loads to exactly the rows its JSON form gives.</summary>
public sealed class MlflowParquetTests : IDisposable
{
    private const int Rows = 250;

    private readonly CanonicalFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string CaseId(int row) => $"rf-{row:D3}";

    private static string Tier(int row) => row % 3 == 0 ? "enterprise" : "consumer";

    private static double? Similarity(int row) => row % 17 == 0 ? null : 1 + row % 5;

    private static double Toxicity(int row) => (row % 10) / 100.0;

    private string WriteJson(string folder)
    {
        Directory.CreateDirectory(folder);
        var json = new StringBuilder("""{"columns":["case_id","customer_tier","prompt_version","answer_similarity\/v1\/score","toxicity\/v1\/score"],"data":[""");
        for (var row = 0; row < Rows; row++)
        {
            json.Append(row == 0 ? "" : ",");
            var similarity = Similarity(row) is { } value ? value.ToString(CultureInfo.InvariantCulture) : "NaN";
            json.Append(CultureInfo.InvariantCulture, $"[\"{CaseId(row)}\",\"{Tier(row)}\",\"refund-v4\",{similarity},{Toxicity(row)}]");
        }

        json.Append("]}");
        var path = Path.Combine(folder, "eval_results_table.json");
        File.WriteAllText(path, json.ToString());
        return path;
    }

    private async Task<string> WriteParquetAsync(string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "eval_results_table.parquet");
        var caseId = new DataField<string>("case_id");
        var tier = new DataField<string>("customer_tier");
        var prompt = new DataField<string>("prompt_version");
        var similarity = new DataField<double?>("answer_similarity/v1/score");
        var toxicity = new DataField<double>("toxicity/v1/score");
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(caseId, tier, prompt, similarity, toxicity), stream,
            cancellationToken: TestContext.Current.CancellationToken);
        // Two row groups, as a writer with a small row-group size leaves them.
        foreach (var rows in new[] { Enumerable.Range(0, 100).ToArray(), Enumerable.Range(100, Rows - 100).ToArray() })
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(caseId, rows.Select(CaseId).ToArray());
            await group.WriteAsync(tier, rows.Select(Tier).ToArray());
            await group.WriteAsync(prompt, rows.Select(_ => "refund-v4").ToArray());
            await group.WriteAsync(similarity, new ReadOnlyMemory<double?>(rows.Select(Similarity).ToArray()), cancellationToken: TestContext.Current.CancellationToken);
            await group.WriteAsync(toxicity, new ReadOnlyMemory<double>(rows.Select(Toxicity).ToArray()), cancellationToken: TestContext.Current.CancellationToken);
        }

        return path;
    }

    private static async Task<List<(string, string, string, double?, string, string)>> LoadAsync(string path)
    {
        await using var database = await TestDatabases.DuckDbAsync();
        new Migrator(database.Engine).Migrate();
        var result = await new Loader(database.Engine).LoadFileAsync(path, new LoadOptions(), TestContext.Current.CancellationToken);
        Assert.True(result.Status == FileLoadStatus.Loaded, result.Message);
        await using var connection = await database.Engine.OpenAsync(TestContext.Current.CancellationToken);
        return (await connection.QueryAsync<(string, string, string, double?, string, string)>(
            "select case_id, metric, customer_tier, score, raw_score, eval_run_id from quality.eval_records order by case_id, metric")).ToList();
    }

    [Fact]
    public async Task A_parquet_results_table_gives_the_rows_of_its_json_form()
    {
        var json = WriteJson(Path.Combine(_files.Folder, "json"));
        var parquet = await WriteParquetAsync(Path.Combine(_files.Folder, "parquet"));

        Assert.Equal("mlflow-table-parquet", SourceDetector.Detect(parquet).Format.Name);
        var fromJson = await LoadAsync(json);
        var fromParquet = await LoadAsync(parquet);

        Assert.Equal(Rows * 2 - Enumerable.Range(0, Rows).Count(row => Similarity(row) is null), fromParquet.Count);
        Assert.Equal(fromJson, fromParquet);
        Assert.Contains(("rf-003", "answer_similarity", "enterprise", 0.75, "4", "eval_results_table"), fromParquet);
    }
}
