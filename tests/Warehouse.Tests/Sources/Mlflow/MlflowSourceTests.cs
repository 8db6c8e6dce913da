using System.IO.Compression;
using Microsoft.Extensions.Configuration;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Sources.Mlflow;

/// <summary>MLflow eval_results_table.json (pandas split orientation): rows × score columns, on every engine.</summary>
public abstract class MlflowSuite : DatabaseSuite
{
    private const string Run = "refund-v4_eval_results_table";

    protected override bool MigrateOnInitialize => true;

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval", "mlflow", name);

    /// <summary>This suite passes settings before options.</summary>
    private Task<FileLoadResult> LoadAsync(string path, SourceSettings? settings = null, LoadOptions? options = null) =>
        base.LoadAsync(path, options, settings);

    private Task<List<EvalRecordRow>> RowsAsync() => QueryAsync<EvalRecordRow>("select * from quality.eval_records order by case_id, metric, epoch");

    [Fact]
    public async Task Loads_one_row_per_table_row_and_score_column()
    {
        var result = await LoadAsync(Fixture("refund-v4_eval_results_table.json"));

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal("mlflow-table-json", result.Format);
        Assert.Equal((8L, 8L, 0L), (result.RowsRead, result.RowsInserted, result.RowsRejected));
        var rows = await RowsAsync();
        Assert.Equal(
        [
            "rf-001|answer_similarity|1|1|5|null",                  // 1..5 judge scale → (s - 1) / 4
            "rf-001|flesch_kincaid_grade_level|1|null|9.8|null",    // a grade level is not a 0..1 score: raw only
            "rf-001|toxicity|1|0.0002391054|0.0002391054|null",
            "rf-002|answer_similarity|1|0.75|4|null",
            "rf-002|flesch_kincaid_grade_level|1|null|14.1|null",
            "rf-002|toxicity|1|0.0003117722|0.0003117722|null",
            "rf-003|flesch_kincaid_grade_level|1|null|8.4|null",    // answer_similarity NaN (null): no row
            "rf-003|toxicity|1|0.0002014336|0.0002014336|null",
        ], rows.Select(row => row.Line));
        Assert.All(rows, row => Assert.Equal(("mlflow", Run, "gpt-4o-2024-08-06", "refund-v4", "refund_summary"),
            (row.source, row.eval_run_id, row.model_version, row.prompt_version, row.feature)));
        Assert.Equal(["consumer", "enterprise", "enterprise"], rows.Where(row => row.metric == "toxicity").Select(row => row.customer_tier));
        Assert.Equal(["en", "de", "en"], rows.Where(row => row.metric == "toxicity").Select(row => row.language));
        Assert.Equal(["refund_request", "contract_dispute", "refund_request"], rows.Where(row => row.metric == "toxicity").Select(row => row.intent));
        Assert.Equal([(2284.0, 44L), (3117.0, 58L), (1902.0, 21L)],
            rows.Where(row => row.metric == "toxicity").Select(row => (row.latency_ms!.Value, row.output_tokens!.Value)));

        var german = rows.Single(row => row.case_id == "rf-002" && row.metric == "answer_similarity");
        // \uXXXX and \/ escapes decode as JSON; pass-through columns that are no key land in attributes.
        using var attributes = System.Text.Json.JsonDocument.Parse(german.attributes!);
        Assert.EndsWith("(Verlängerung / renewal).", attributes.RootElement.GetProperty("justification").GetString());
        Assert.Equal("München", attributes.RootElement.GetProperty("store").GetString());
        Assert.Contains("\"metric_version\":\"v1\"", german.attributes);
        Assert.Contains("\"model_raw\":\"openai/gpt-4o-2024-08-06\"", german.attributes);
        Assert.Contains("\"run_id_from\":\"file_name\"", german.attributes);
        Assert.Contains("\"skipped_metrics\":\"answer_similarity\"", rows.Single(row => row.case_id == "rf-003" && row.metric == "toxicity").attributes);
    }

    [Fact]
    public async Task Bad_rows_are_rejected_with_their_index_and_reason_and_the_rest_loads()
    {
        var path = Fixture("malformed_eval_results_table.json");

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((7L, 4L, 3L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        var rows = await RowsAsync();
        Assert.Equal(["rf-101|answer_similarity|1|1|5|null", "rf-101|toxicity|1|0.0003|0.0003|null",
            "rf-105|answer_similarity|1|0.25|2|null", "rf-105|toxicity|1|0.0002|0.0002|null"], rows.Select(row => row.Line));
        // The run_id column names the run.
        Assert.All(rows, row => Assert.Equal("5f0c8e2a9b7d4c61a3e2f1d0c9b8a7e6", row.eval_run_id));
        var rejects = await QueryAsync<(long, string, string)>("select record_number, reason, file_path from etl.rejected_records order by record_number");
        Assert.Equal([2L, 3L, 4L], rejects.Select(reject => reject.Item1));
        Assert.Contains("toxicity/v1/score is \"n/a\", not a number", rejects[0].Item2);
        Assert.Contains("row has no case id", rejects[1].Item2);
        Assert.Contains("3 values for 8 columns", rejects[2].Item2);
        Assert.All(rejects, reject => Assert.Equal(path, reject.Item3));
    }

    [Fact]
    public async Task A_truncated_table_fails_the_batch_and_loads_nothing()
    {
        var result = await LoadAsync(Fixture("truncated_eval_results_table.json"));

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("truncated_eval_results_table.json", result.Message);
        Assert.Empty(await RowsAsync());
        Assert.Equal(["failed"], await QueryAsync<string>("select status from etl.load_batches"));
    }

    [Fact]
    public async Task Reloading_the_file_changes_nothing()
    {
        var path = Fixture("refund-v4_eval_results_table.json");
        await LoadAsync(path);
        var before = (await RowsAsync()).Select(row => row.Line + "|" + row.attributes).ToList();

        var skipped = await LoadAsync(path);
        var forced = await LoadAsync(path, options: new LoadOptions(Force: true));

        Assert.Equal(FileLoadStatus.Skipped, skipped.Status);
        Assert.Equal((0L, 0L, 8L), (forced.RowsInserted, forced.RowsUpdated, forced.RowsUnchanged));
        Assert.Equal(before, (await RowsAsync()).Select(row => row.Line + "|" + row.attributes));
    }

    [Fact]
    public async Task The_run_id_and_key_columns_can_be_overridden_in_configuration()
    {
        var settings = new SourceSettings(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:mlflow:Keys:eval_run_id"] = "run_name",
            ["Sources:mlflow:Keys:customer_tier:0"] = "segment",
        }).Build());

        var result = await LoadAsync(Fixture("indexed_eval_results_table.json"), settings);

        Assert.Equal((FileLoadStatus.Loaded, 4L), (result.Status, result.RowsInserted));
        var rows = await RowsAsync();
        Assert.Equal(["rf-001|answer_correctness|1|1|5|null", "rf-001|toxicity|1|0.0004|0.0004|null",
            "rf-002|answer_correctness|1|0.5|3|null", "rf-002|toxicity|1|0.0002|0.0002|null"], rows.Select(row => row.Line));
        Assert.All(rows, row => Assert.Equal("refund-v4-nightly-2024-11-04", row.eval_run_id));
        Assert.Equal(["smb", "smb", "strategic", "strategic"], rows.Select(row => row.customer_tier));
    }

    [Fact]
    public async Task A_gzip_table_in_the_mlruns_layout_takes_its_run_id_from_the_folder()
    {
        const string runId = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
        var folder = Path.Combine(Files.Folder, "mlruns", "412", runId, "artifacts");
        Directory.CreateDirectory(folder);
        var gzipped = Path.Combine(folder, "eval_results_table.json.gz");
        await using (var output = File.Create(gzipped))
        await using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        await using (var input = File.OpenRead(Fixture("refund-v4_eval_results_table.json")))
        {
            await input.CopyToAsync(gzip, Token);
        }

        var result = await LoadAsync(gzipped);

        Assert.Equal((FileLoadStatus.Loaded, "mlflow-table-json", 8L), (result.Status, result.Format, result.RowsInserted));
        var rows = await RowsAsync();
        Assert.All(rows, row => Assert.Equal(runId, row.eval_run_id));
        Assert.Contains("\"run_id_from\":\"path\"", rows[0].attributes);
    }

    [Fact]
    public async Task A_table_without_a_case_id_column_keys_rows_by_position()
    {
        var path = Path.Combine(Files.Folder, "nocase_eval_results_table.json");
        await File.WriteAllTextAsync(path,
            """{"columns":["inputs","outputs","toxicity\/v1\/score"],"data":[["a","b",0.1],["c","d",0.2],["e","f",0.3]]}""", Token);

        await LoadAsync(path);

        Assert.Equal(["0|toxicity|1|0.1|0.1|null", "1|toxicity|1|0.2|0.2|null", "2|toxicity|1|0.3|0.3|null"],
            (await RowsAsync()).Select(row => row.Line));
    }
}

public sealed class MlflowDuckDbTests : MlflowSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class MlflowPostgresTests : MlflowSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class MlflowSqlServerTests : MlflowSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}

public sealed class MlflowDetectionTests
{
    [Fact]
    public void A_split_orientation_table_with_score_columns_is_detected_without_a_format()
    {
        Assert.Equal("mlflow-table-json", SourceDetector.Detect(MlflowSuite.Fixture("refund-v4_eval_results_table.json")).Format.Name);
        Assert.Equal("mlflow-table-json", SourceDetector.Detect(MlflowSuite.Fixture("indexed_eval_results_table.json")).Format.Name);
    }
}
