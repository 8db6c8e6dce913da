using System.IO.Compression;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Configuration;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Sources.InspectAi;

/// <summary>The Inspect AI JSON log on every engine: exact rows, rejects, truncation, re-loads, key overrides, gzip.</summary>
public abstract class InspectAiLoadSuite : DatabaseSuite
{
    public const string LogName = "2026-11-18T02-09-41+00-00_refund-summary_hT4kQ9wZr2Lm7Nc5Xv8Bp3.json";
    public const string EvalId = "hT4kQ9wZr2Lm7Nc5Xv8Bp3";

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval", "inspect_ai", name);

    [Fact]
    public async Task Load_writes_one_row_per_sample_scorer_and_epoch_exactly_as_expected()
    {
        var result = await LoadAsync(Fixture(LogName));

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal(("inspect-json", 96L, 96L, 0L), (result.Format, result.RowsRead, result.RowsInserted, result.RowsRejected));
        var rows = await EvalRow.ReadAsync(Engine);
        var expected = EvalRow.ReadExpected(Fixture("refund-summary.expected.csv"));
        Assert.Equal(expected.Count, rows.Count);
        foreach (var (row, want) in rows.Zip(expected))
        {
            var context = $"{want["case_id"]} epoch {want["epoch"]} {want["metric"]}";
            Assert.Equal(("inspect_ai", want["eval_run_id"], want["case_id"], want["metric"], int.Parse(want["epoch"])),
                (row.Source, row.EvalRunId, row.CaseId, row.Metric, row.Epoch));
            Assert.Equal(
                (want["model_version"], want["prompt_version"], want["retriever_version"], want["experiment_bucket"], want["dataset_id"],
                    want["dataset_version"], want["judge_version"]),
                (row.ModelVersion, row.PromptVersion, row.RetrieverVersion, row.ExperimentBucket, row.DatasetId, row.DatasetVersion, row.JudgeVersion));
            Assert.Equal((want["feature"], want["intent"], want["language"], want["customer_tier"], want["context_band"]),
                (row.Feature, row.Intent, row.Language, row.CustomerTier, row.ContextBand));
            Assert.True(EvalRow.Number(want["score"]) is { } score ? Math.Abs(row.Score!.Value - score) < 1e-12 : row.Score is null, context);
            Assert.Equal(EvalRow.Flag(want["is_passed"]), row.IsPassed);
            Assert.Equal(want["raw_score"], row.RawScore);
            Assert.Equal(EvalRow.Number(want["latency_ms"])!.Value, row.LatencyMs!.Value, 6);
            Assert.Equal((long.Parse(want["input_tokens"]), long.Parse(want["output_tokens"])), (row.InputTokens!.Value, row.OutputTokens!.Value));
            Assert.Equal(EvalRow.Utc(want["evaluated_at"]), row.EvaluatedAt);
        }

        // The metric means match the log's own results: accuracy 0.5625 over 48, clause_overlap 0.534... over the 44 scored.
        Assert.Equal(0.5625, await ScalarAsync<double>("select avg(score) from quality.eval_records where metric = 'model_graded_qa'"), 9);
        Assert.Equal(44L, await ScalarAsync<long>("select count(score) from quality.eval_records where metric = 'clause_overlap'"));
        Assert.Equal(0.5340909090909091, await ScalarAsync<double>("select avg(score) from quality.eval_records where metric = 'clause_overlap'"), 9);

        using var attributes = JsonDocument.Parse(rows.Single(row => row is { CaseId: "rf-011", Epoch: 2, Metric: "model_graded_qa" }).Attributes!);
        Assert.Equal("openai/gpt-4o-2024-08-06", attributes.RootElement.GetProperty("model_raw").GetString());
        Assert.Equal("openai/gpt-4o-mini-2024-07-18", attributes.RootElement.GetProperty("judge_model").GetString());
        Assert.Equal("RateLimitError: retried 3 times", attributes.RootElement.GetProperty("sample_error").GetString());
        Assert.Equal("true", rows.Single(row => row is { CaseId: "rf-008", Epoch: 1, Metric: "clause_overlap" }).Attributes!.Contains("\"unscored\":\"true\"").ToString().ToLowerInvariant());
    }

    [Fact]
    public async Task Load_rejects_unusable_samples_with_their_index_and_reason_and_keeps_the_rest()
    {
        var result = await LoadAsync(Fixture("refund-summary-bad-samples.json"));

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((17L, 10L, 7L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        await using (var connection = await Engine.OpenAsync(Token))
        {
            var rejects = (await connection.QueryAsync<(long Record, string Reason, string File)>(Engine.Sql(
                "select record_number, reason, file_path from etl.rejected_records order by record_number"))).ToList();
            Assert.All(rejects, reject => Assert.EndsWith("refund-summary-bad-samples.json", reject.File));
            Assert.Equal([2L, 3, 4, 5, 6, 7, 9], rejects.Select(reject => reject.Record));
            Assert.Contains("has no case id", rejects[0].Reason);
            Assert.Contains("epoch \"two\" is not a positive whole number", rejects[1].Reason);
            Assert.Contains("sample rf-204 epoch 1: scorer model_graded_qa: the value 'maybe'", rejects[2].Reason);
            Assert.Contains("list of 3 item(s)", rejects[3].Reason);
            Assert.Contains("scorer rubric key notes", rejects[4].Reason);
            Assert.Contains("has no scores (the sample ended with an error: TimeoutError", rejects[5].Reason);
            Assert.Contains("is a JSON string, not a Score object", rejects[6].Reason);
        }

        var rows = await EvalRow.ReadAsync(Engine);
        Assert.Equal(
        [
            ("210", "clause_match", 0.75, false, "0.75"),
            ("210", "model_graded_qa", 0.5, false, "P"),
            ("rf-201", "clause_match", 1.0, true, "true"),
            ("rf-201", "model_graded_qa", 1.0, true, "C"),
            ("rf-204", "clause_match", 0.0, false, "false"),
            ("rf-205", "clause_match", 1.0, true, "yes"),
            ("rf-206", "rubric/accuracy", 1.0, true, "1"),
            ("rf-206", "rubric/tone", 0.25, false, "0.25"),
            ("rf-208", "model_graded_qa", 0.0, false, "N"),
        ], rows.Where(row => row.Score is not null).Select(row => (row.CaseId, row.Metric, row.Score!.Value, row.IsPassed!.Value, row.RawScore!)));
        // A number outside 0..1 has no known scale: kept raw, no score, no pass.
        var outOfScale = rows.Single(row => row is { CaseId: "rf-208", Metric: "clause_match" });
        Assert.Equal((null, null, "7"), (outOfScale.Score, outOfScale.IsPassed, outOfScale.RawScore));
        Assert.All(rows, row => Assert.Equal(("Bd3Fg6Hj9Kl2Mn5Pq8Rs1T", "claude-3-5-sonnet-20241022", "refund-v5"), (row.EvalRunId, row.ModelVersion, row.PromptVersion)));
        Assert.Contains("\"log_status\":\"error\"", rows[0].Attributes);
    }

    [Fact]
    public async Task Load_fails_a_truncated_log_and_keeps_nothing()
    {
        var bytes = await File.ReadAllBytesAsync(Fixture(LogName), Token);
        var path = Path.Combine(Files.Folder, "truncated.json");
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length * 2 / 3)], Token);

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("truncated.json", result.Message);
        Assert.Contains("cannot be read to the end", result.Message);
        Assert.Equal(0L, await ScalarAsync<long>("select count(*) from quality.eval_records"));
        Assert.Equal("failed", await ScalarAsync<string>("select status from etl.load_batches"));
    }

    [Fact]
    public async Task Reloading_the_same_log_is_a_no_op()
    {
        var first = await LoadAsync(Fixture(LogName));
        var again = await LoadAsync(Fixture(LogName));
        var forced = await LoadAsync(Fixture(LogName), new LoadOptions(Force: true));

        Assert.Equal((FileLoadStatus.Loaded, 96L), (first.Status, first.RowsInserted));
        Assert.Equal(FileLoadStatus.Skipped, again.Status);
        Assert.Equal((FileLoadStatus.Loaded, 0L, 0L, 96L), (forced.Status, forced.RowsInserted, forced.RowsUpdated, forced.RowsUnchanged));
        Assert.Equal(96L, await ScalarAsync<long>("select count(*) from quality.eval_records"));
    }

    [Fact]
    public async Task A_key_path_from_configuration_replaces_the_default()
    {
        var settings = new SourceSettings(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:inspect_ai:Keys:customer_tier:0"] = "metadata.segment",
            ["Sources:inspect_ai:Keys:experiment_bucket"] = "eval.task",
        }).Build());

        await LoadAsync(Fixture(LogName), settings: settings);

        var rows = await EvalRow.ReadAsync(Engine);
        Assert.Equal(["large", "smb"], rows.Select(row => row.CustomerTier).Distinct().Order());
        Assert.Equal(32, rows.Count(row => row.CustomerTier == "large"));
        Assert.All(rows, row => Assert.Equal("refund_summary", row.ExperimentBucket));
    }

    [Fact]
    public async Task A_gzip_log_loads_the_same_rows()
    {
        var path = Path.Combine(Files.Folder, LogName + ".gz");
        await using (var output = File.Create(path))
        await using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        await using (var input = File.OpenRead(Fixture(LogName)))
        {
            await input.CopyToAsync(gzip, Token);
        }

        var result = await LoadAsync(path);

        Assert.Equal((FileLoadStatus.Loaded, "inspect-json", 96L), (result.Status, result.Format, result.RowsInserted));
        Assert.Equal(0.5625, await ScalarAsync<double>("select avg(score) from quality.eval_records where metric = 'model_graded_qa'"), 9);
    }

    [Fact]
    public async Task A_log_without_eval_id_uses_run_and_task_ids_even_when_samples_come_first()
    {
        var result = await LoadAsync(Fixture("legacy-0.3.40-samples-first.json"));

        Assert.Equal((FileLoadStatus.Loaded, 2L), (result.Status, result.RowsInserted));
        var rows = await EvalRow.ReadAsync(Engine);
        Assert.All(rows, row => Assert.Equal(("Lg1Cy2Ru3Nn4Id5Ab6Cd7E/Tk9Id8Ab7Cd6Ef5Gh4Ij3K", "gpt-4-turbo", "refund_golden_v6"),
            (row.EvalRunId, row.ModelVersion, row.DatasetId)));
        Assert.Equal([("rf-301", true), ("rf-302", false)], rows.Select(row => (row.CaseId, row.IsPassed!.Value)));
    }
}

public sealed class InspectAiDuckDbTests : InspectAiLoadSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class InspectAiPostgresTests : InspectAiLoadSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class InspectAiSqlServerTests : InspectAiLoadSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
