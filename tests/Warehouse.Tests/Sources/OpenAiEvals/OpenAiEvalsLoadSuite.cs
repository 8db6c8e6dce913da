using System.IO.Compression;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Configuration;
using Warehouse.Engines;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Tests.Sources.InspectAi;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Sources.OpenAiEvals;

/// <summary>The oaieval record log on every engine: the samples join, match and metrics events, bad lines, re-loads, overrides, gzip.</summary>
public abstract class OpenAiEvalsLoadSuite : DatabaseSuite
{
    public const string ModelGradedLog = "261118021533ZQ4XKR7M_gpt-4o_refund-summary.jsonl";
    public const string MatchLog = "261118030102AB7CDE2F_gpt-4o-2024-08-06_refund-clause.jsonl";
    public const string BadLog = "261119090000BADLOG01_gpt-4o_refund-clause-bad-lines.jsonl";
    public const string SamplesFile = "refund_golden_v7.samples.jsonl";

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval", "openai_evals", name);

    private static LoadOptions WithSamples(string samples, bool force = false) =>
        new(Force: force, Companions: new Dictionary<string, string> { ["samples"] = samples });

    private async Task GzipAsync(string from, string to)
    {
        await using var output = File.Create(to);
        await using var gzip = new GZipStream(output, CompressionLevel.Fastest);
        await using var input = File.OpenRead(from);
        await input.CopyToAsync(gzip, Token);
    }

    private static void AssertExpectedRows(List<EvalRow> rows)
    {
        var expected = EvalRow.ReadExpected(Fixture("refund-summary.expected.csv"));
        Assert.Equal(expected.Count, rows.Count);
        foreach (var (row, want) in rows.Zip(expected))
        {
            Assert.Equal(("openai_evals", want["eval_run_id"], want["case_id"], want["metric"], 1),
                (row.Source, row.EvalRunId, row.CaseId, row.Metric, row.Epoch));
            Assert.Equal((want["model_version"], want["prompt_version"], want["dataset_id"], want["dataset_version"], "unknown"),
                (row.ModelVersion, row.PromptVersion, row.DatasetId, row.DatasetVersion, row.JudgeVersion));
            Assert.Equal((want["feature"], want["intent"], want["language"], want["customer_tier"], "<2k"),
                (row.Feature, row.Intent, row.Language, row.CustomerTier, row.ContextBand));
            Assert.Equal((EvalRow.Number(want["score"]), EvalRow.Flag(want["is_passed"]), want["raw_score"]), (row.Score, row.IsPassed, row.RawScore));
            // Tokens are the candidate's (gpt-4o → gpt-4o-2024-08-06); the grader's (gpt-4o-mini-2024-07-18) go to attributes.
            Assert.Equal((long.Parse(want["input_tokens"]), long.Parse(want["output_tokens"])), (row.InputTokens!.Value, row.OutputTokens!.Value));
            Assert.Equal(EvalRow.Utc(want["evaluated_at"]), row.EvaluatedAt);
            using var attributes = JsonDocument.Parse(row.Attributes!);
            Assert.Equal((want["sample_id"], want["choice"], "gpt-4o-mini", "gpt-4o-2024-08-06"),
                (attributes.RootElement.GetProperty("sample_id").GetString(), attributes.RootElement.GetProperty("choice").GetString(),
                    attributes.RootElement.GetProperty("judge_model").GetString(), attributes.RootElement.GetProperty("model_resolved").GetString()));
            Assert.True(attributes.RootElement.TryGetProperty("judge_input_tokens", out _));
        }
    }

    [Fact]
    public async Task Load_joins_the_samples_file_and_writes_one_row_per_sample_and_metric()
    {
        var result = await LoadAsync(Fixture(ModelGradedLog), WithSamples(Fixture(SamplesFile)));

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal(("openai-evals-jsonl", 30L, 30L, 0L), (result.Format, result.RowsRead, result.RowsInserted, result.RowsRejected));
        AssertExpectedRows(await EvalRow.ReadAsync(Engine));
        // The mean matches the final report (in the middle of the file): 14 Y, 11 N, 5 __invalid__ (min score).
        Assert.Equal(0.4666666666666667, await ScalarAsync<double>("select avg(score) from quality.eval_records"), 12);
        Assert.Equal(14L, await ScalarAsync<long>("select count(*) from quality.eval_records where is_passed = " + TrueLiteral));
    }

    [Fact]
    public async Task Without_the_samples_file_per_case_keys_are_unknown_and_nothing_is_rejected()
    {
        var result = await LoadAsync(Fixture(ModelGradedLog));

        Assert.Equal((FileLoadStatus.Loaded, 30L, 0L), (result.Status, result.RowsInserted, result.RowsRejected));
        var rows = await EvalRow.ReadAsync(Engine);
        Assert.All(rows, row => Assert.Equal(("unknown", "unknown", "unknown", "unknown"), (row.Feature, row.Intent, row.Language, row.CustomerTier)));
        Assert.All(rows, row => Assert.StartsWith("refund-summary.dev.", row.CaseId));
        Assert.All(rows, row => Assert.Equal(("gpt-4o", "refund-summary.dev.v2", "v2"), (row.ModelVersion, row.PromptVersion, row.DatasetVersion)));
    }

    [Fact]
    public async Task Match_events_become_accuracy_rows_with_correct_as_pass()
    {
        var result = await LoadAsync(Fixture(MatchLog), WithSamples(Fixture(SamplesFile)));

        Assert.Equal((FileLoadStatus.Loaded, 12L), (result.Status, result.RowsInserted));
        var rows = await EvalRow.ReadAsync(Engine);
        Assert.Equal(Enumerable.Range(100, 12).Select(index => $"rf-{index}"), rows.Select(row => row.CaseId));
        Assert.All(rows, row => Assert.Equal(("accuracy", "261118030102AB7CDE2F", "gpt-4o-2024-08-06"), (row.Metric, row.EvalRunId, row.ModelVersion)));
        Assert.Equal(["rf-101", "rf-105", "rf-109"], rows.Where(row => row.IsPassed == false).Select(row => row.CaseId));
        Assert.All(rows, row => Assert.Equal(row.IsPassed == true ? (1.0, "true") : (0.0, "false"), (row.Score!.Value, row.RawScore!)));
        Assert.Equal(0.75, await ScalarAsync<double>("select avg(score) from quality.eval_records"), 12);
    }

    [Fact]
    public async Task Bad_lines_are_rejected_with_line_and_reason_and_good_samples_load()
    {
        var result = await LoadAsync(Fixture(BadLog));

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((3L, 5L), (result.RowsLoaded, result.RowsRejected));
        await using (var connection = await Engine.OpenAsync(Token))
        {
            var rejects = (await connection.QueryAsync<(long Line, string Reason, string File)>(Engine.Sql(
                "select record_number, reason, file_path from etl.rejected_records order by record_number"))).ToList();
            Assert.All(rejects, reject => Assert.EndsWith(BadLog, reject.File));
            Assert.Equal([4L, 5, 6, 8, 11], rejects.Select(reject => reject.Line));
            Assert.Contains("match data.correct is a JSON string (\"yes\"), not true/false", rejects[0].Reason);
            Assert.Contains("line is not valid JSON", rejects[1].Reason);
            Assert.Contains("metrics data.score \"high\" is not a number", rejects[2].Reason);
            Assert.Contains("sample refund-clause.dev.4 has no match or metrics event (it ended with an error: The server had an error", rejects[3].Reason);
            Assert.Contains("line is a JSON array, not an object", rejects[4].Reason);
        }

        var rows = await EvalRow.ReadAsync(Engine);
        Assert.Equal([("refund-clause.dev.0", true), ("refund-clause.dev.5", false), ("refund-clause.dev.6", true)],
            rows.Select(row => (row.CaseId, row.IsPassed!.Value)));
        Assert.Equal((200L, 5L), (rows[0].InputTokens!.Value, rows[0].OutputTokens!.Value));
    }

    [Fact]
    public async Task A_log_without_a_spec_line_fails_the_batch()
    {
        var lines = await File.ReadAllLinesAsync(Fixture(MatchLog), Token);
        var path = Files.Write("no-spec.jsonl", string.Join('\n', lines.Skip(1)) + "\n");

        var result = await LoadAsync(path, new LoadOptions(Format: "openai-evals-jsonl"));

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("no spec line", result.Message);
        Assert.Equal(0L, await ScalarAsync<long>("select count(*) from quality.eval_records"));
    }

    [Fact]
    public async Task A_samples_file_too_short_for_the_run_rejects_the_samples_it_cannot_join()
    {
        var lines = await File.ReadAllLinesAsync(Fixture(SamplesFile), Token);
        var samples = Files.Write("short.samples.jsonl", string.Join('\n', lines.Take(6)) + "\n");

        var result = await LoadAsync(Fixture(MatchLog), WithSamples(samples));

        Assert.Equal((FileLoadStatus.LoadedWithRejects, 6L, 6L), (result.Status, result.RowsLoaded, result.RowsRejected));
        Assert.Contains("has 6 line(s), none at index", result.FirstRejects![0].Reason);
    }

    [Fact]
    public async Task Reloading_the_same_log_and_samples_is_a_no_op()
    {
        var first = await LoadAsync(Fixture(ModelGradedLog), WithSamples(Fixture(SamplesFile)));
        var again = await LoadAsync(Fixture(ModelGradedLog), WithSamples(Fixture(SamplesFile)));
        var forced = await LoadAsync(Fixture(ModelGradedLog), WithSamples(Fixture(SamplesFile), force: true));

        Assert.Equal((FileLoadStatus.Loaded, 30L), (first.Status, first.RowsInserted));
        Assert.Equal(FileLoadStatus.Skipped, again.Status);
        Assert.Equal((FileLoadStatus.Loaded, 0L, 0L, 30L), (forced.Status, forced.RowsInserted, forced.RowsUpdated, forced.RowsUnchanged));
        Assert.Equal(30L, await ScalarAsync<long>("select count(*) from quality.eval_records"));
    }

    [Fact]
    public async Task A_key_path_from_configuration_replaces_the_default()
    {
        var settings = new SourceSettings(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:openai_evals:Keys:customer_tier:0"] = "account.segment",
            ["Sources:openai_evals:Keys:experiment_bucket"] = "spec.created_by",
        }).Build());

        await LoadAsync(Fixture(ModelGradedLog), WithSamples(Fixture(SamplesFile)), settings);

        var rows = await EvalRow.ReadAsync(Engine);
        var expected = EvalRow.ReadExpected(Fixture("refund-summary.expected.csv"));
        Assert.Equal(expected.Select(want => want["customer_tier"] == "enterprise" ? "large" : "smb"), rows.Select(row => row.CustomerTier));
        Assert.All(rows, row => Assert.Equal("ci-nightly", row.ExperimentBucket));
    }

    [Fact]
    public async Task A_gzip_log_with_a_gzip_samples_file_loads_the_same_rows()
    {
        var log = Path.Combine(Files.Folder, ModelGradedLog + ".gz");
        var samples = Path.Combine(Files.Folder, SamplesFile + ".gz");
        await GzipAsync(Fixture(ModelGradedLog), log);
        await GzipAsync(Fixture(SamplesFile), samples);

        var result = await LoadAsync(log, WithSamples(samples));

        Assert.Equal((FileLoadStatus.Loaded, "openai-evals-jsonl", 30L), (result.Status, result.Format, result.RowsInserted));
        AssertExpectedRows(await EvalRow.ReadAsync(Engine));
    }

    private string TrueLiteral => Engine.Kind == EngineKind.SqlServer ? "1" : "true";
}

public sealed class OpenAiEvalsDuckDbTests : OpenAiEvalsLoadSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class OpenAiEvalsPostgresTests : OpenAiEvalsLoadSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class OpenAiEvalsSqlServerTests : OpenAiEvalsLoadSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
