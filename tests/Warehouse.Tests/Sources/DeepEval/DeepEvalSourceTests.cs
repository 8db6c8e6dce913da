using System.Globalization;
using System.IO.Compression;
using Microsoft.Extensions.Configuration;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Sources.DeepEval;

/// <summary>DeepEval test-run JSON: test cases × metricsData, run-level hyperparameters broadcast, on every engine.</summary>
public abstract class DeepEvalSuite : DatabaseSuite
{
    private const string Run = "test_run_20241104_091502";

    protected override bool MigrateOnInitialize => true;

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval", "deepeval", name);

    /// <summary>This suite passes settings before options.</summary>
    private Task<FileLoadResult> LoadAsync(string path, SourceSettings? settings = null, LoadOptions? options = null) =>
        base.LoadAsync(path, options, settings);

    private Task<List<EvalRecordRow>> RowsAsync() => QueryAsync<EvalRecordRow>("select * from quality.eval_records order by case_id, metric, epoch");

    [Fact]
    public async Task Loads_one_row_per_test_case_and_metric_with_the_run_level_keys_on_every_row()
    {
        var result = await LoadAsync(Fixture("test_run_20241104_091502.json"));

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal("deepeval-json", result.Format);
        Assert.Equal((6L, 6L, 0L), (result.RowsRead, result.RowsInserted, result.RowsRejected));
        var rows = await RowsAsync();
        Assert.Equal(
        [
            "refund-de-contract|Faithfulness|1|null|null|False",   // no case_id in metadata: the test case name; the metric errored
            "refund-de-contract|Refund Policy Correctness [GEval]|1|0.65|0.65|False",
            "rf-001|Faithfulness|1|1|1.0|True",
            "rf-001|Refund Policy Correctness [GEval]|1|0.92|0.92|True",
            "rf-003|Faithfulness|1|0.8|0.8|True",
            "rf-003|Refund Policy Correctness [GEval]|1|0.3|0.3|False",
        ], rows.Select(row => row.Line));
        Assert.All(rows, row => Assert.Equal(("deepeval", Run), (row.source, row.eval_run_id)));
        Assert.All(rows, row => Assert.Equal(("gpt-4o-2024-08-06", "kb-retriever-2.3.1", "control", "refund-golden", "refund-judge-v2", "refund_summary"),
            (row.model_version, row.retriever_version, row.experiment_bucket, row.dataset_id, row.judge_version, row.feature)));
        Assert.All(rows, row => Assert.Equal(new DateTime(2024, 11, 4, 9, 15, 2), Utc(row.evaluated_at!.Value)));
        // Record-level metadata wins over the run's hyperparameters.
        Assert.Equal(["refund-v3", "refund-v3", "refund-v3", "refund-v3", "refund-v3-hotfix", "refund-v3-hotfix"], rows.Select(row => row.prompt_version));
        Assert.Equal(["de", "en", "en"], rows.Where(row => row.metric == "Faithfulness").Select(row => row.language));
        Assert.Equal(["enterprise", "consumer", "enterprise"], rows.Where(row => row.metric == "Faithfulness").Select(row => row.customer_tier));

        var first = rows.Single(row => row.case_id == "rf-001" && row.metric.EndsWith("[GEval]", StringComparison.Ordinal));
        Assert.Equal((1842.0, 0.00071), (first.latency_ms!.Value, first.cost_usd!.Value));
        Assert.Contains("\"threshold\":\"0.7\"", first.attributes);
        Assert.Contains("\"judge_model\":\"gpt-4o-mini-2024-07-18\"", first.attributes);
        Assert.Contains("\"identifier\":\"refund-v3-nightly\"", first.attributes);
        Assert.Contains("\"model_raw\":\"openai/gpt-4o-2024-08-06\"", first.attributes);
        Assert.Contains("\"error\":\"RateLimitError", rows[0].attributes);
        Assert.Null(rows[0].latency_ms);
    }

    [Fact]
    public async Task Bad_test_cases_are_rejected_with_their_index_and_reason_and_the_rest_loads()
    {
        var path = Fixture("test_run_20241105_101500-malformed.json");

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((7L, 4L, 3L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        Assert.Equal(["rf-101", "rf-101", "rf-105", "rf-105"], (await RowsAsync()).Select(row => row.case_id));
        var rejects = await QueryAsync<(long, string, string)>("select record_number, reason, file_path from etl.rejected_records order by record_number");
        Assert.Equal([2L, 3L, 4L], rejects.Select(reject => reject.Item1));
        Assert.Contains("metric 'Refund Policy Correctness [GEval]' has score \"high\", not a number", rejects[0].Item2);
        Assert.Contains("test case rf-103 has no metricsData", rejects[1].Item2);
        Assert.Contains("not an object", rejects[2].Item2);
        Assert.All(rejects, reject => Assert.Equal(path, reject.Item3));
    }

    [Fact]
    public async Task A_truncated_run_fails_the_batch_and_loads_nothing()
    {
        var result = await LoadAsync(Fixture("test_run_20241106_080000-truncated.json"));

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("test_run_20241106_080000-truncated.json", result.Message);
        Assert.Contains("cannot be read to the end", result.Message);
        Assert.Empty(await RowsAsync());
        Assert.Equal(["failed"], await QueryAsync<string>("select status from etl.load_batches"));
    }

    [Fact]
    public async Task Reloading_the_file_changes_nothing()
    {
        var path = Fixture("test_run_20241104_091502.json");
        await LoadAsync(path);
        var before = (await RowsAsync()).Select(row => row.Line + "|" + row.attributes).ToList();

        var skipped = await LoadAsync(path);
        var forced = await LoadAsync(path, options: new LoadOptions(Force: true));

        Assert.Equal(FileLoadStatus.Skipped, skipped.Status);
        Assert.Equal((0L, 0L, 6L), (forced.RowsInserted, forced.RowsUpdated, forced.RowsUnchanged));
        Assert.Equal(before, (await RowsAsync()).Select(row => row.Line + "|" + row.attributes));
    }

    [Fact]
    public async Task Key_paths_and_the_run_id_can_be_overridden_in_configuration()
    {
        var settings = new SourceSettings(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:deepeval:Keys:eval_run_id"] = "identifier",
            ["Sources:deepeval:Keys:prompt_version:0"] = "hyperparameters.prompt_version",
        }).Build());

        await LoadAsync(Fixture("test_run_20241104_091502.json"), settings);

        var rows = await RowsAsync();
        Assert.All(rows, row => Assert.Equal(("refund-v3-nightly", "refund-v3"), (row.eval_run_id, row.prompt_version)));
    }

    [Fact]
    public async Task A_gzip_run_longer_than_the_probe_is_detected_and_streamed()
    {
        // A run of 300 cases is one line far longer than the 64 KiB probe: only "testCases" shows in it.
        var text = new System.Text.StringBuilder("{\"testCases\": [");
        for (var index = 0; index < 300; index++)
        {
            text.Append(index == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture,
                $$$"""{"name": "test_case_{{{index}}}", "input": "ticket {{{index}}}", "actualOutput": "{{{new string('x', 400)}}}", "success": true, "metricsData": [{"name": "Answer Relevancy", "threshold": 0.5, "success": {{{(index % 4 == 0 ? "false" : "true")}}}, "score": {{{(index % 4 == 0 ? "0.25" : "0.75")}}}, "evaluationModel": "gpt-4o-mini-2024-07-18"}], "order": {{{index}}}, "metadata": {"case_id": "case-{{{index:D4}}}", "customer_tier": "{{{(index % 2 == 0 ? "consumer" : "enterprise")}}}"}}""");
        }

        text.Append("], \"hyperparameters\": {\"model\": \"gpt-4o-2024-08-06\", \"prompt_version\": \"refund-v4\"}, \"testPassed\": 225, \"testFailed\": 75}");
        var gzipped = Path.Combine(Files.Folder, "test_run_20241107_120000.json.gz");
        await using (var output = File.Create(gzipped))
        await using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        {
            await gzip.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text.ToString()), Token);
        }

        var result = await LoadAsync(gzipped);

        Assert.Equal((FileLoadStatus.Loaded, "deepeval-json", 300L), (result.Status, result.Format, result.RowsInserted));
        var rows = await RowsAsync();
        Assert.All(rows, row => Assert.Equal(("test_run_20241107_120000", "refund-v4", "gpt-4o-2024-08-06"), (row.eval_run_id, row.prompt_version, row.model_version)));
        Assert.Equal(75, rows.Count(row => row.is_passed == false));
        Assert.Equal(("case-0299", "enterprise"), (rows[^1].case_id, rows[^1].customer_tier));
    }

    private static DateTime Utc(DateTime value) =>
        DateTime.SpecifyKind(value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value, DateTimeKind.Unspecified);
}

public sealed class DeepEvalDuckDbTests : DeepEvalSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class DeepEvalPostgresTests : DeepEvalSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class DeepEvalSqlServerTests : DeepEvalSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}

public sealed class DeepEvalDetectionTests
{
    [Fact]
    public void A_single_line_test_run_is_detected_without_a_format()
    {
        Assert.Equal("deepeval-json", SourceDetector.Detect(DeepEvalSuite.Fixture("test_run_20241104_091502.json")).Format.Name);
        Assert.Equal("deepeval-json", SourceDetector.Detect(DeepEvalSuite.Fixture("test_run_20241105_101500-malformed.json")).Format.Name);
    }

    [Fact]
    public void The_latest_test_run_file_with_the_run_under_testRunData_reads_the_same_way()
    {
        var folder = Path.Combine(Path.GetTempPath(), TestDatabases.NewName("wh_de_latest"));
        Directory.CreateDirectory(folder);
        try
        {
            var path = Path.Combine(folder, ".latest_test_run.json");
            File.WriteAllText(path, "{\"testRunData\": " + File.ReadAllText(DeepEvalSuite.Fixture("test_run_20241104_091502.json")) + "}");

            var detected = SourceDetector.Detect(path);
            var records = detected.Format.Read(detected.File, detected.Schema, TestContext.Current.CancellationToken).ToList();

            Assert.Equal("deepeval-json", detected.Format.Name);
            Assert.Equal(6, records.Count);
            Assert.All(records, record => Assert.Null(record.ReadError));
            var schema = detected.Schema;
            Assert.All(records, record => Assert.Equal(".latest_test_run", record.Values[schema.Ordinal("eval_run_id")]));
            Assert.All(records, record => Assert.Equal("gpt-4o-2024-08-06", record.Values[schema.Ordinal("model_version")]));
            Assert.Equal(["rf-001", "rf-001", "refund-de-contract", "refund-de-contract", "rf-003", "rf-003"],
                records.Select(record => record.Values[schema.Ordinal("case_id")]));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
