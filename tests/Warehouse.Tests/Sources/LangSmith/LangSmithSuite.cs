using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Sources.LangSmith;

/// <summary>LangSmith experiment runs + feedback (+ examples) on every engine: exact rows, rejects, re-loads, key overrides.</summary>
public abstract class LangSmithSuite : DatabaseSuite
{
    public const string Session = "7f3c2a91-4d6e-4b18-a5c0-2e9d8b1f6a43";
    public const string Dataset = "d41e7b20-93a5-4c6f-8e12-5b7a0c9f3d68";

    protected override bool MigrateOnInitialize => true;

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval", "langsmith", name);

    public sealed class Row
    {
        public string source { get; set; } = "";
        public string eval_run_id { get; set; } = "";
        public string case_id { get; set; } = "";
        public string metric { get; set; } = "";
        public int epoch { get; set; }
        public string model_version { get; set; } = "";
        public string prompt_version { get; set; } = "";
        public string retriever_version { get; set; } = "";
        public string experiment_bucket { get; set; } = "";
        public string dataset_id { get; set; } = "";
        public string dataset_version { get; set; } = "";
        public string judge_version { get; set; } = "";
        public string feature { get; set; } = "";
        public string intent { get; set; } = "";
        public string language { get; set; } = "";
        public string customer_tier { get; set; } = "";
        public double? score { get; set; }
        public bool? is_passed { get; set; }
        public string? raw_score { get; set; }
        public double? latency_ms { get; set; }
        public double? cost_usd { get; set; }
        public long? input_tokens { get; set; }
        public long? output_tokens { get; set; }
        public DateTime? evaluated_at { get; set; }
        public string? source_trace_id { get; set; }
        public string? attributes { get; set; }

        /// <summary>Everything but attributes, as one comparable line.</summary>
        public override string ToString() => string.Join("|",
            source, eval_run_id, case_id, metric, epoch.ToString(CultureInfo.InvariantCulture), model_version, prompt_version, retriever_version,
            experiment_bucket, dataset_id, dataset_version, judge_version, feature, intent, language, customer_tier,
            Number(score), is_passed switch { true => "pass", false => "fail", null => "-" }, raw_score ?? "-", Number(latency_ms), Number(cost_usd),
            input_tokens?.ToString(CultureInfo.InvariantCulture) ?? "-", output_tokens?.ToString(CultureInfo.InvariantCulture) ?? "-",
            evaluated_at?.ToString("yyyy-MM-ddTHH:mm:ss.ffffff", CultureInfo.InvariantCulture) ?? "-", source_trace_id ?? "-");

        private static string Number(double? value) => value is { } number ? Math.Round(number, 9).ToString("R", CultureInfo.InvariantCulture) : "-";
    }

    private Task<List<Row>> RowsAsync(string? session = Session) => QueryAsync<Row>(
        "select source, eval_run_id, case_id, metric, epoch, model_version, prompt_version, retriever_version, experiment_bucket, dataset_id, "
        + "dataset_version, judge_version, feature, intent, language, customer_tier, score, is_passed, raw_score, latency_ms, cost_usd, "
        + "input_tokens, output_tokens, evaluated_at, source_trace_id, attributes from quality.eval_records where eval_run_id = @session "
        + "order by case_id, metric", new { session });

    private static List<string> Lines(IEnumerable<Row> rows) => rows.Select(row => row.ToString()).Order(StringComparer.Ordinal).ToList();

    private const string Run1 = "01925b4e-1a2b-7c3d-8e4f-5a6b7c8d9e01";
    private const string Run2 = "01925b4e-1b3c-7d4e-9f5a-6b7c8d9e0f12";
    private const string Run3 = "01925b4e-1c4d-7e5f-8a6b-7c8d9e0f1a23";
    private const string Run4 = "01925b4e-1d5e-7f6a-9b7c-8d9e0f1a2b34";

    private static string Expected(string caseId, string metric, string judge, string dataset, string labels, string score, string passed, string raw,
        string latency, string cost, string tokensIn, string tokensOut, string evaluatedAt, string trace) =>
        $"langsmith|{Session}|{caseId}|{metric}|1|gpt-4o-2024-08-06|refund-v5|kb-retriever-2.4.0|control|{dataset}|v8|{judge}|{labels}|{score}|{passed}|{raw}|{latency}|{cost}|{tokensIn}|{tokensOut}|{evaluatedAt}|{trace}";

    /// <summary>The experiment fixture with its feedback and examples: 4 root runs (one child run skipped) → 10 rows.</summary>
    public static readonly string[] ExpectedRows =
    [
        Expected("rf-101", "correctness", "refund-judge-v3", Dataset, "refund_summary|refund_request|en|consumer", "1", "pass", "true", "2230.5", "0.00192", "512", "64", "2024-10-02T09:15:05.702118", Run1),
        Expected("rf-101", "helpfulness", "helpfulness-judge-v1", Dataset, "refund_summary|refund_request|en|consumer", "0.75", "-", "0.75", "2230.5", "0.00192", "512", "64", "2024-10-02T09:15:05.771020", Run1),
        Expected("rf-101", "verdict", "refund-judge-v3", Dataset, "refund_summary|refund_request|en|consumer", "1", "pass", "pass", "2230.5", "0.00192", "512", "64", "2024-10-02T09:15:05.802761", Run1),
        // The reviewer's later correctness feedback (true) wins over the model's (false).
        Expected("rf-102", "correctness", "refund-judge-v3", Dataset, "refund_summary|contract_dispute|de|enterprise", "1", "pass", "true", "2750", "0.00238", "588", "91", "2024-10-03T08:00:00.000000", Run2),
        Expected("rf-102", "helpfulness", "helpfulness-judge-v1", Dataset, "refund_summary|contract_dispute|de|enterprise", "0.4", "-", "0.4", "2750", "0.00238", "588", "91", "2024-10-02T09:15:06.230555", Run2),
        Expected("rf-102", "verdict", "refund-judge-v3", Dataset, "refund_summary|contract_dispute|de|enterprise", "0", "fail", "fail", "2750", "0.00238", "588", "91", "2024-10-02T09:15:06.310004", Run2),
        // Run 3 has no ls_example_* metadata: its case id and labels come from the examples file; cost = prompt + completion cost.
        Expected("rf-103", "correctness", "refund-judge-v3", Dataset, "refund_summary|refund_request|en|enterprise", "1", "pass", "1", "1250", "0.00183", "540", "48", "2024-10-02T09:15:07.612980", Run3),
        Expected("rf-103", "helpfulness", "helpfulness-judge-v1", Dataset, "refund_summary|refund_request|en|enterprise", "0.9", "-", "0.9", "1250", "0.00183", "540", "48", "2024-10-02T09:15:07.701555", Run3),
        Expected("rf-103", "verdict", "refund-judge-v3", Dataset, "refund_summary|refund_request|en|enterprise", "-", "-", "needs_review", "1250", "0.00183", "540", "48", "2024-10-02T09:15:07.880412", Run3),
        // Run 4 errored; its example is not in the examples file: keys from extra.metadata.ls_example_*, dataset unknown.
        Expected("rf-104", "correctness", "refund-judge-v3", "unknown", "refund_summary|refund_request|en|consumer", "0", "fail", "0", "30000", "-", "-", "-", "2024-10-02T09:15:35.002230", Run4),
    ];

    [Fact]
    public async Task Runs_load_with_feedback_and_examples_found_beside_them_one_row_per_run_and_feedback_key()
    {
        var result = await LoadAsync(Fixture("experiment.jsonl"));

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal("langsmith-runs-jsonl", result.Format);
        Assert.Equal((10L, 10L, 0L, 10L), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsInserted));
        var rows = await RowsAsync();
        Assert.Equal(ExpectedRows.Order(StringComparer.Ordinal).ToList(), Lines(rows));

        var corrected = rows.Single(row => row.case_id == "rf-102" && row.metric == "correctness");
        using var attributes = JsonDocument.Parse(corrected.attributes!);
        Assert.Equal("app", attributes.RootElement.GetProperty("feedback_source_type").GetString());
        Assert.Equal(2, attributes.RootElement.GetProperty("feedback_rows_for_key").GetInt32());
        Assert.Equal("f0000001-0000-4000-8000-000000000012", attributes.RootElement.GetProperty("feedback_id").GetString());
        Assert.Equal("b2e1d3c4-6f75-4c8b-8d92-1e3f4a5b6c72", attributes.RootElement.GetProperty("example_id").GetString());
        Assert.Equal("gpt-4o-2024-08-06", attributes.RootElement.GetProperty("model_raw").GetString());
        Assert.Equal("v8", attributes.RootElement.GetProperty("run_metadata").GetProperty("dataset_version").GetString());
        Assert.Equal("contract_dispute", attributes.RootElement.GetProperty("example_metadata").GetProperty("intent").GetString());

        var errored = rows.Single(row => row.case_id == "rf-104");
        using var errorAttributes = JsonDocument.Parse(errored.attributes!);
        Assert.StartsWith("RateLimitError", errorAttributes.RootElement.GetProperty("run_error").GetString());
        Assert.Equal("Target run errored; no output to grade.", errorAttributes.RootElement.GetProperty("comment").GetString());

        var category = rows.Single(row => row.case_id == "rf-103" && row.metric == "verdict");
        using var categoryAttributes = JsonDocument.Parse(category.attributes!);
        Assert.Equal("categorical value", categoryAttributes.RootElement.GetProperty("score_note").GetString());
    }

    [Fact]
    public async Task Companions_given_as_options_load_the_same_rows()
    {
        var runs = Path.Combine(Files.Folder, "runs-export.jsonl");
        File.Copy(Fixture("experiment.jsonl"), runs);
        var feedback = Path.Combine(Files.Folder, "feedback-export.jsonl");
        File.Copy(Fixture("experiment.feedback.jsonl"), feedback);

        var result = await LoadAsync(runs, new LoadOptions(Companions: new Dictionary<string, string>
        {
            ["feedback"] = feedback,
            ["examples"] = Fixture("experiment.examples.jsonl"),
        }));

        Assert.Equal((FileLoadStatus.Loaded, 10L), (result.Status, result.RowsLoaded));
        Assert.Equal(ExpectedRows.Order(StringComparer.Ordinal).ToList(), Lines(await RowsAsync()));
    }

    [Fact]
    public async Task Runs_without_a_feedback_file_fall_back_to_feedback_stats_and_reject_runs_without_them()
    {
        var runs = Path.Combine(Files.Folder, "runs-only.jsonl");
        File.Copy(Fixture("experiment.jsonl"), runs);

        var result = await LoadAsync(runs);

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((3L, 3L), (result.RowsLoaded, result.RowsRejected));
        Assert.Equal([3L, 4L, 5L], result.FirstRejects!.Select(reject => reject.RecordNumber));
        Assert.All(result.FirstRejects!, reject => Assert.Contains("no feedback file was found (give --feedback", reject.Reason));
        var rows = await RowsAsync();
        Assert.Equal(
            ["rf-101|correctness|1|pass|1.0", "rf-101|helpfulness|0.75|-|0.75", "rf-101|verdict|1|pass|pass"],
            rows.Select(row => $"{row.case_id}|{row.metric}|{row.score?.ToString(CultureInfo.InvariantCulture) ?? "-"}|{row.is_passed switch { true => "pass", false => "fail", null => "-" }}|{row.raw_score}"));
        Assert.All(rows, row => Assert.Equal(row.evaluated_at, new DateTime(2024, 10, 2, 9, 15, 1, 250, DateTimeKind.Utc)));
        Assert.All(rows, row => Assert.Contains("\"score_source\":\"feedback_stats\"", row.attributes));
    }

    [Fact]
    public async Task A_malformed_runs_file_rejects_bad_records_with_line_and_reason_and_loads_the_rest()
    {
        var path = Fixture("experiment-malformed.jsonl");

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((6L, 2L, 4L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        var rejects = await QueryAsync<(string FilePath, long RecordNumber, string Reason, string RawRecord)>(
            "select file_path, record_number, reason, raw_record from etl.rejected_records where batch_id = @batch order by record_number",
            new { batch = result.BatchId });
        Assert.All(rejects, reject => Assert.Equal(Path.GetFullPath(path), reject.FilePath));
        Assert.Equal([2L, 3L, 4L, 5L], rejects.Select(reject => reject.RecordNumber));
        Assert.StartsWith("line is not valid JSON", rejects[0].Reason);
        Assert.Contains("has no case id", rejects[1].Reason);
        Assert.Contains("score \"excellent\" is a JSON string, not a number or boolean", rejects[2].Reason);
        Assert.Contains("(correctness)", rejects[2].Reason);
        Assert.Contains("has no feedback in experiment-malformed.feedback.jsonl and no feedback_stats", rejects[3].Reason);
        Assert.All(rejects, reject => Assert.StartsWith("{\"id\": \"01925c00-", reject.RawRecord));

        var loaded = await RowsAsync("2b8e4f10-6c3a-4d57-9e21-8f0a7b6c5d49");
        Assert.Equal(["rf-101|correctness|1", "rf-102|helpfulness|0.5"],
            loaded.Select(row => $"{row.case_id}|{row.metric}|{row.score?.ToString(CultureInfo.InvariantCulture)}"));
    }

    [Fact]
    public async Task A_broken_feedback_line_fails_the_load_and_keeps_nothing()
    {
        var runs = Path.Combine(Files.Folder, "broken.jsonl");
        File.Copy(Fixture("experiment.jsonl"), runs);
        var feedbackLines = File.ReadAllLines(Fixture("experiment.feedback.jsonl"));
        feedbackLines[3] = feedbackLines[3][..40];
        File.WriteAllLines(Path.Combine(Files.Folder, "broken.feedback.jsonl"), feedbackLines);

        var result = await LoadAsync(runs);

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("broken.feedback.jsonl (the feedback file) line 4 is not valid JSON", result.Message);
        Assert.Empty(await RowsAsync());
    }

    [Fact]
    public async Task Reloading_is_a_no_op_and_a_new_feedback_file_loads_the_same_runs_again_with_updated_rows()
    {
        var runs = Path.Combine(Files.Folder, "runs.jsonl");
        File.Copy(Fixture("experiment.jsonl"), runs);
        var feedback = Path.Combine(Files.Folder, "feedback-v1.jsonl");
        File.Copy(Fixture("experiment.feedback.jsonl"), feedback);
        var examples = Fixture("experiment.examples.jsonl");
        LoadOptions Options(string feedbackPath) => new(Companions: new Dictionary<string, string> { ["feedback"] = feedbackPath, ["examples"] = examples });

        var first = await LoadAsync(runs, Options(feedback));
        var again = await LoadAsync(runs, Options(feedback));
        var forced = await LoadAsync(runs, Options(feedback) with { Force = true });

        Assert.Equal((FileLoadStatus.Loaded, 10L), (first.Status, first.RowsInserted));
        Assert.Equal(FileLoadStatus.Skipped, again.Status);
        Assert.Equal((FileLoadStatus.Loaded, 0L, 0L, 10L), (forced.Status, forced.RowsInserted, forced.RowsUpdated, forced.RowsUnchanged));
        Assert.Equal(ExpectedRows.Order(StringComparer.Ordinal).ToList(), Lines(await RowsAsync()));

        // A later feedback export: the helpfulness judge was re-run on run 1 and a new key was added to run 4.
        var later = Path.Combine(Files.Folder, "feedback-v2.jsonl");
        var lines = File.ReadAllLines(feedback).ToList();
        lines[1] = lines[1].Replace("\"score\": 0.75", "\"score\": 0.8", StringComparison.Ordinal)
            .Replace("\"modified_at\": \"2024-10-02T09:15:05.771020\"", "\"modified_at\": \"2024-10-04T10:00:00\"", StringComparison.Ordinal);
        lines.Add(lines[9].Replace("f0000001-0000-4000-8000-000000000010", "f0000001-0000-4000-8000-000000000013", StringComparison.Ordinal)
            .Replace("\"key\": \"correctness\"", "\"key\": \"helpfulness\"", StringComparison.Ordinal));
        File.WriteAllLines(later, lines);

        var updated = await LoadAsync(runs, Options(later));

        Assert.Equal((FileLoadStatus.Loaded, 11L, 1L, 1L), (updated.Status, updated.RowsLoaded, updated.RowsInserted, updated.RowsUpdated));
        var rows = await RowsAsync();
        Assert.Equal(11, rows.Count);
        Assert.Equal(0.8, rows.Single(row => row.case_id == "rf-101" && row.metric == "helpfulness").score);
        Assert.Equal(0.0, rows.Single(row => row.case_id == "rf-104" && row.metric == "helpfulness").score);
    }

    [Fact]
    public async Task A_changed_feedback_file_found_by_convention_updates_rows_when_forced()
    {
        var runs = Path.Combine(Files.Folder, "exp.runs.jsonl");
        File.Copy(Fixture("experiment.jsonl"), runs);
        var feedback = Path.Combine(Files.Folder, "exp.feedback.jsonl");
        File.Copy(Fixture("experiment.feedback.jsonl"), feedback);
        File.Copy(Fixture("experiment.examples.jsonl"), Path.Combine(Files.Folder, "exp.examples.jsonl"));

        var first = await LoadAsync(runs);
        File.WriteAllText(feedback, File.ReadAllText(feedback).Replace("\"score\": 0.4", "\"score\": 0.45", StringComparison.Ordinal));
        var second = await LoadAsync(runs, new LoadOptions(Force: true));

        Assert.Equal((FileLoadStatus.Loaded, 10L), (first.Status, first.RowsInserted));
        Assert.Equal((FileLoadStatus.Loaded, 1L), (second.Status, second.RowsUpdated));
        Assert.Equal(0.45, (await RowsAsync()).Single(row => row.case_id == "rf-102" && row.metric == "helpfulness").score);
    }

    [Fact]
    public async Task Key_paths_are_overridden_through_configuration()
    {
        var settings = new SourceSettings(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:langsmith:Keys:case_id"] = "reference_example_id",
            ["Sources:langsmith:Keys:dataset_version:0"] = "extra.metadata.example_version",
            ["Sources:langsmith:Keys:customer_tier:0"] = "metadata.tier_override",
            ["Sources:langsmith:Keys:customer_tier:1"] = "tags[1]",
        }).Build());

        var result = await LoadAsync(Fixture("experiment.jsonl"), settings: settings);

        Assert.Equal((FileLoadStatus.Loaded, 10L), (result.Status, result.RowsLoaded));
        var rows = await RowsAsync();
        Assert.Equal(
            ["a1f0c2d3-5e64-4b7a-9c81-0d2e3f4a5b61", "b2e1d3c4-6f75-4c8b-8d92-1e3f4a5b6c72", "c3d2e4f5-7a86-4d9c-9ea3-2f4a5b6c7d83", "d4c3f5a6-8b97-4eab-8fb4-3a5b6c7d8e94"],
            rows.Select(row => row.case_id).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal("2024-09-30T16:20:11.024512", rows.First(row => row.case_id.StartsWith("b2e1", StringComparison.Ordinal)).dataset_version);
        Assert.All(rows, row => Assert.Equal("control", row.customer_tier));
        Assert.All(rows, row => Assert.Equal("refund-v5", row.prompt_version));
    }

    [Theory]
    [InlineData("experiment.examples.jsonl", "langsmith-examples-jsonl", "this is a LangSmith dataset examples file", "--examples export.jsonl")]
    public async Task An_examples_file_alone_fails_and_beside_its_runs_is_skipped(string name, string format, string says, string option)
    {
        var alone = Path.Combine(Files.Folder, "export.jsonl");
        File.Copy(Fixture(name), alone);

        var lonely = await LoadAsync(alone);
        var beside = await LoadAsync(Fixture(name));

        Assert.Equal((FileLoadStatus.Failed, format), (lonely.Status, lonely.Format));
        Assert.Contains(says, lonely.Message);
        Assert.Contains(option, lonely.Message);
        // Beside its runs file it is skipped, not failed: the runs file reads it (a folder load exits 0).
        Assert.Equal((FileLoadStatus.Skipped, format), (beside.Status, beside.Format));
        Assert.Contains("experiment.jsonl when that file loads", beside.Message);
        Assert.Equal(0L, (await QueryAsync<long>("select count(*) from quality.eval_records")).Single());
        Assert.Equal(0L, (await QueryAsync<long>("select count(*) from quality.trace_summaries")).Single());
    }

    /// <summary>
    /// Feedback is eval feedback only beside its experiment runs (skipped: the runs file reads it). A feedback file with no
    /// experiment runs beside it is production-trace feedback (langsmith-trace-feedback-jsonl): it loads as feedback parts
    /// that wait for their traces' runs, and no eval rows. Forced as eval feedback, it fails and says how it is loaded.
    /// </summary>
    [Fact]
    public async Task A_feedback_file_beside_its_experiment_runs_is_skipped_and_alone_is_trace_feedback()
    {
        var alone = Path.Combine(Files.Folder, "export.jsonl");
        File.Copy(Fixture("experiment.feedback.jsonl"), alone);

        var beside = await LoadAsync(Fixture("experiment.feedback.jsonl"));
        var lonely = await LoadAsync(alone);
        var forced = await LoadAsync(alone, new LoadOptions(Format: "langsmith-feedback-jsonl", Force: true));

        Assert.Equal((FileLoadStatus.Skipped, "langsmith-feedback-jsonl"), (beside.Status, beside.Format));
        Assert.Contains("experiment.jsonl when that file loads", beside.Message);
        Assert.Equal((FileLoadStatus.Loaded, "langsmith-trace-feedback-jsonl", 12L), (lonely.Status, lonely.Format, lonely.RowsLoaded));
        Assert.Equal((FileLoadStatus.Failed, "langsmith-feedback-jsonl"), (forced.Status, forced.Format));
        Assert.Contains("--feedback export.jsonl", forced.Message);
        Assert.Equal(0L, (await QueryAsync<long>("select count(*) from quality.eval_records")).Single());
        Assert.Equal(0L, (await QueryAsync<long>("select count(*) from quality.trace_summaries")).Single());
    }
}

public sealed class LangSmithDuckDbTests : LangSmithSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class LangSmithPostgresTests : LangSmithSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class LangSmithSqlServerTests : LangSmithSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
