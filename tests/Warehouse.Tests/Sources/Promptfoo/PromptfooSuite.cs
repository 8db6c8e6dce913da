using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Sources.Promptfoo;

/// <summary>
/// promptfoo exports (results.json, .jsonl, .csv) loaded on every engine: exact rows, rejects with
/// record and reason, broken files failing whole, re-loads as no-ops, key paths from configuration, gzip.
/// </summary>
public abstract class PromptfooSuite : DatabaseSuite
{
    private const string EvalId = "eval-Rf7-2026-03-02T09:15:44";
    private const string Model = "gpt-4o-2024-08-06";

    protected override bool MigrateOnInitialize => true;

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval", "promptfoo", name);

    /// <summary>Per prompt version and metric: rows, rows with a score, sum of scores (×1000, rounded), passes.</summary>
    private async Task<List<(string Prompt, string Metric, long Rows, long Scored, long ScoreMilli, long Passed)>> SummaryAsync() =>
        (await QueryAsync<(string, string, long, long, double?, long)>(
            "select prompt_version, metric, cast(count(*) as bigint), cast(count(score) as bigint), sum(score), "
            + "cast(sum(case when is_passed = @yes then 1 else 0 end) as bigint) "
            + "from quality.eval_records group by prompt_version, metric order by prompt_version, metric",
            new { yes = true }))
        .Select(row => (row.Item1, row.Item2, row.Item3, row.Item4, (long)Math.Round((row.Item5 ?? 0) * 1000), row.Item6))
        .ToList();

    private Task<List<(string RunId, string CaseId, string Metric, int Epoch, double? Score, bool? Passed, string? RawScore)>> RowsAsync(string caseId) =>
        QueryAsync<(string, string, string, int, double?, bool?, string?)>(
            "select eval_run_id, case_id, metric, epoch, score, is_passed, raw_score from quality.eval_records "
            + "where case_id = @caseId order by eval_run_id, epoch, metric", new { caseId });

    [Fact]
    public async Task Results_json_loads_one_row_per_case_prompt_and_metric_with_run_keys_broadcast()
    {
        var result = await LoadAsync(Fixture("refund-eval.json"));

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal("promptfoo-json", result.Format);
        Assert.Equal((96L, 96L, 0L, 96L), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsInserted));
        Assert.Equal(
            [
                ("refund-v3", "cites_clause", 24L, 23L, 15_000L, 15L),
                ("refund-v3", "policy_accuracy", 24L, 23L, 13_400L, 10L),
                ("refund-v4", "cites_clause", 24L, 24L, 17_000L, 17L),
                ("refund-v4", "policy_accuracy", 24L, 24L, 13_550L, 10L),
            ],
            await SummaryAsync());

        // Run-level keys (config.metadata, config.tags, shareableUrl, results.timestamp) on every row.
        var runKeys = await QueryAsync<(string, string, string, string, string, string, string, string)>(
            "select distinct source, model_version, dataset_id, dataset_version, retriever_version, judge_version, experiment_bucket, artifact_url "
            + "from quality.eval_records");
        Assert.Equal([("promptfoo", Model, "refund-golden", "v8", "kb-retriever-2.4.0", "refund-judge-v2", "treatment",
            "https://promptfoo.app/eval/" + EvalId)], runKeys);
        Assert.Equal([EvalId + "#0", EvalId + "#1"], await QueryAsync<string>("select distinct eval_run_id from quality.eval_records order by eval_run_id"));
        var evaluatedAt = await QueryAsync<DateTime>("select distinct evaluated_at from quality.eval_records");
        Assert.Equal(new DateTime(2026, 3, 2, 9, 15, 44, 208), DateTime.SpecifyKind(Assert.Single(evaluatedAt), DateTimeKind.Unspecified));
        Assert.Equal(96L, await ScalarAsync<long>(
            "select count(*) from quality.eval_records where attributes like '%\"model_raw\":\"openai:chat:gpt-4o-2024-08-06\"%' "
            + "and attributes like '%\"eval_id\":\"" + EvalId + "\"%'"));
        Assert.Equal(
            [("consumer", "de", 28L), ("consumer", "en", 32L), ("enterprise", "de", 16L), ("enterprise", "en", 20L)],
            await QueryAsync<(string, string, long)>(
                "select customer_tier, language, cast(count(*) as bigint) from quality.eval_records group by customer_tier, language "
                + "order by customer_tier, language"));

        // rf-101 ran twice (a repeated test: testIdx 0 and 23): epochs 1 and 2 per prompt column.
        Assert.Equal(
            [
                (EvalId + "#0", "rf-101", "cites_clause", 1, 0.0, false, "0"),
                (EvalId + "#0", "rf-101", "policy_accuracy", 1, 0.0, false, "0"),
                (EvalId + "#0", "rf-101", "cites_clause", 2, 1.0, true, "1"),
                (EvalId + "#0", "rf-101", "policy_accuracy", 2, 1.0, true, "1"),
                (EvalId + "#1", "rf-101", "cites_clause", 1, 1.0, true, "1"),
                (EvalId + "#1", "rf-101", "policy_accuracy", 1, 0.8, true, "0.8"),
                (EvalId + "#1", "rf-101", "cites_clause", 2, 0.0, false, "0"),
                (EvalId + "#1", "rf-101", "policy_accuracy", 2, 0.6, false, "0.6"),
            ],
            await RowsAsync("rf-101"));
        // Threshold test: the test passed (score 0.75 >= 0.5) but its policy_accuracy assertion failed.
        Assert.Equal(
            [
                (EvalId + "#0", "rf-106", "cites_clause", 1, 1.0, true, "1"),
                (EvalId + "#0", "rf-106", "policy_accuracy", 1, 0.5, false, "0.5"),
                (EvalId + "#1", "rf-106", "cites_clause", 1, 1.0, true, "1"),
                (EvalId + "#1", "rf-106", "policy_accuracy", 1, 0.9, true, "0.9"),
            ],
            await RowsAsync("rf-106"));
        Assert.Contains("\"test_passed\":\"true\"", await ScalarAsync<string>(
            "select attributes from quality.eval_records where case_id = 'rf-106' and eval_run_id = @run and metric = 'policy_accuracy'", new { run = EvalId + "#0" }));
        // Provider error (failureReason 2): the declared metrics, unscored and failed.
        Assert.Equal(
            [
                (EvalId + "#0", "rf-123", "cites_clause", 1, null, false, null),
                (EvalId + "#0", "rf-123", "policy_accuracy", 1, null, false, null),
                (EvalId + "#1", "rf-123", "cites_clause", 1, 1.0, true, "1"),
                (EvalId + "#1", "rf-123", "policy_accuracy", 1, 0.0, false, "0"),
            ],
            await RowsAsync("rf-123"));
        Assert.Contains("\"failure_reason\":\"error\"", await ScalarAsync<string>(
            "select attributes from quality.eval_records where case_id = 'rf-123' and eval_run_id = @run and metric = 'cites_clause'", new { run = EvalId + "#0" }));
        // Case id fallbacks: no metadata.case_id → the description; neither → the test index.
        Assert.Equal(4, (await RowsAsync("rf-121 headphones refund")).Count);
        Assert.Equal(4, (await RowsAsync("21")).Count);
        // rf-110's metadata has no language: vars.language.
        Assert.Equal(["de"], await QueryAsync<string>("select distinct language from quality.eval_records where case_id = 'rf-110'"));
        var measures = await QueryAsync<(double, double, long, long)>(
            "select latency_ms, cost_usd, input_tokens, output_tokens from quality.eval_records "
            + "where case_id = 'rf-110' and eval_run_id = @run and metric = 'cites_clause'", new { run = EvalId + "#0" });
        Assert.Equal([(1833.0, 0.001508, 427L, 44L)], measures);
    }

    [Fact]
    public async Task Results_jsonl_without_eval_id_gets_a_run_id_from_its_result_ids_that_survives_a_re_export()
    {
        var result = await LoadAsync(Fixture("refund-eval.jsonl"));

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal("promptfoo-jsonl", result.Format);
        Assert.Equal((24L, 24L, 0L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        Assert.Equal(
            [
                ("refund-v3", "cites_clause", 6L, 6L, 4_000L, 4L),
                ("refund-v3", "policy_accuracy", 6L, 6L, 3_150L, 2L),
                ("refund-v4", "cites_clause", 6L, 6L, 4_000L, 4L),
                ("refund-v4", "policy_accuracy", 6L, 6L, 3_550L, 3L),
            ],
            await SummaryAsync());
        var runs = await QueryAsync<string>("select distinct eval_run_id from quality.eval_records order by eval_run_id");
        Assert.Equal(2, runs.Count);
        Assert.Matches("^jsonl-[0-9a-f]{32}#0$", runs[0]);
        Assert.Equal(runs[0][..^1] + "1", runs[1]);
        // Lines 3 and 4 of the writer's output share a physical line (`}{`): both are read, as line 3.
        Assert.Equal(4L, await ScalarAsync<long>("select count(*) from quality.eval_records where case_id in ('rf-142') "));
        Assert.Equal([("consumer", 16L), ("enterprise", 8L)], await QueryAsync<(string, long)>(
            "select customer_tier, cast(count(*) as bigint) from quality.eval_records group by customer_tier order by customer_tier"));

        // The same results exported again, in another order and with other formatting: the same run.
        var lines = File.ReadAllText(Fixture("refund-eval.jsonl")).Replace("}{", "}\n{").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var reexport = Files.Write("reexport.jsonl", string.Join("\n", lines.Reverse().Select(line => JsonNode.Parse(line)!.ToJsonString(
            new JsonSerializerOptions { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + " ")) + "\n");
        var again = await LoadAsync(reexport);
        Assert.Equal((0L, 0L, 24L), (again.RowsInserted, again.RowsUpdated, again.RowsUnchanged));
        Assert.Equal(runs, await QueryAsync<string>("select distinct eval_run_id from quality.eval_records order by eval_run_id"));
    }

    [Fact]
    public async Task Results_csv_is_read_by_position_with_one_row_per_test_prompt_column_and_metric()
    {
        var result = await LoadAsync(Fixture("refund-eval.csv"));

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal("promptfoo-csv", result.Format);
        Assert.Equal((24L, 24L, 0L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        Assert.Equal(
            [
                ("refund-v3", "cites_clause", 6L, 5L, 3_000L, 1L),
                ("refund-v3", "policy_accuracy", 6L, 5L, 1_950L, 1L),
                ("refund-v4", "cites_clause", 6L, 6L, 6_000L, 6L),
                ("refund-v4", "policy_accuracy", 6L, 6L, 5_200L, 6L),
            ],
            await SummaryAsync());
        var runs = await QueryAsync<string>("select distinct eval_run_id from quality.eval_records order by eval_run_id");
        Assert.Matches("^csv-[0-9a-f]{32}#0$", runs[0]);
        Assert.Equal(runs[0][..^1] + "1", runs[1]);
        var rf201 = await RowsAsync("rf-201 headphones refund");
        Assert.Equal(
            [
                (runs[0], "rf-201 headphones refund", "cites_clause", 1, 1.0, false, "1.00"),
                (runs[0], "rf-201 headphones refund", "policy_accuracy", 1, 0.0, false, "0.00"),
                (runs[1], "rf-201 headphones refund", "cites_clause", 1, 1.0, true, "1.00"),
                (runs[1], "rf-201 headphones refund", "policy_accuracy", 1, 1.0, true, "1.00"),
            ],
            rf201);
        Assert.Equal(
            [
                (runs[0], "rf-205 unconfirmed cancellation", "cites_clause", 1, null, false, null),
                (runs[0], "rf-205 unconfirmed cancellation", "policy_accuracy", 1, null, false, null),
                (runs[1], "rf-205 unconfirmed cancellation", "cites_clause", 1, 1.0, true, "1.00"),
                (runs[1], "rf-205 unconfirmed cancellation", "policy_accuracy", 1, 0.8, true, "0.80"),
            ],
            await RowsAsync("rf-205 unconfirmed cancellation"));
        Assert.Equal([(Model, "de", 8L), (Model, "en", 16L)], await QueryAsync<(string, string, long)>(
            "select model_version, language, cast(count(*) as bigint) from quality.eval_records group by model_version, language order by language"));
        Assert.Equal(["unknown"], await QueryAsync<string>("select distinct customer_tier from quality.eval_records"));
    }

    [Fact]
    public async Task A_truncated_results_json_fails_the_batch_and_loads_nothing()
    {
        var text = File.ReadAllText(Fixture("refund-eval.json"));
        var path = Files.Write("truncated.json", text[..(text.Length * 2 / 3)]);

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("cannot be read to the end", result.Message);
        Assert.Equal(0L, await ScalarAsync<long>("select count(*) from quality.eval_records"));
        Assert.Equal("failed", await ScalarAsync<string>("select status from etl.load_batches"));
    }

    [Fact]
    public async Task Results_without_a_case_id_or_with_a_non_numeric_score_are_rejected_alone()
    {
        var path = Fixture("refund-eval-bad-records.json");

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((6L, 4L, 2L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        var rejects = await QueryAsync<(long, string, string, string)>(
            "select record_number, reason, file_path, raw_record from etl.rejected_records order by record_number");
        Assert.Equal([2L, 3L], rejects.Select(reject => reject.Item1));
        Assert.Contains("no case id", rejects[0].Item2);
        Assert.Equal("namedScores.policy_accuracy is \"high\", not a number", rejects[1].Item2);
        Assert.All(rejects, reject => Assert.Equal(Path.GetFullPath(path), reject.Item3));
        Assert.Contains("\"high\"", rejects[1].Item4);
        Assert.Equal(
            [("rf-102", "eval-Bad-2026-03-03T10:00:00#0", 2L), ("rf-102", "eval-Bad-2026-03-03T10:00:00#1", 2L)],
            await QueryAsync<(string, string, long)>(
                "select case_id, eval_run_id, cast(count(*) as bigint) from quality.eval_records group by case_id, eval_run_id order by eval_run_id"));
    }

    [Fact]
    public async Task A_broken_jsonl_line_and_a_broken_csv_cell_are_rejected_with_their_line()
    {
        var lines = File.ReadAllLines(Fixture("refund-eval.jsonl"));
        var jsonl = Files.Write("cut.jsonl", string.Join("\n", lines[..^1]) + "\n" + lines[^1][..200] + "\n");
        var csvLines = File.ReadAllText(Fixture("refund-eval.csv"));
        var csv = Files.Write("bad.csv", csvLines.Replace(",ERROR,0.00,{},,,", ",ERROR,0.00,{},n/a,,", StringComparison.Ordinal));

        var jsonlResult = await LoadAsync(jsonl);
        var csvResult = await LoadAsync(csv);

        Assert.Equal((FileLoadStatus.LoadedWithRejects, 23L, 22L, 1L), (jsonlResult.Status, jsonlResult.RowsRead, jsonlResult.RowsLoaded, jsonlResult.RowsRejected));
        var jsonlReject = Assert.Single(jsonlResult.FirstRejects!);
        Assert.Equal(lines.Length, jsonlReject.RecordNumber);
        Assert.Contains("not valid JSON", jsonlReject.Reason);
        Assert.Equal((FileLoadStatus.LoadedWithRejects, 23L, 22L, 1L), (csvResult.Status, csvResult.RowsRead, csvResult.RowsLoaded, csvResult.RowsRejected));
        var csvReject = Assert.Single(csvResult.FirstRejects!);
        Assert.Equal("namedScores.cites_clause is \"n/a\", not a number", csvReject.Reason);
        Assert.Equal(7, csvReject.RecordNumber); // rf-205's row starts on line 7 (rf-201's output spans two lines)
    }

    [Fact]
    public async Task Reloading_a_results_file_changes_nothing()
    {
        await LoadAsync(Fixture("refund-eval.json"));
        var before = await QueryAsync<(string, string, string, int, long)>(
            "select eval_run_id, case_id, metric, epoch, _batch_id from quality.eval_records order by eval_run_id, case_id, metric, epoch");

        var skipped = await LoadAsync(Fixture("refund-eval.json"));
        var forced = await LoadAsync(Fixture("refund-eval.json"), new LoadOptions(Force: true));

        Assert.Equal(FileLoadStatus.Skipped, skipped.Status);
        Assert.Equal((0L, 0L, 96L), (forced.RowsInserted, forced.RowsUpdated, forced.RowsUnchanged));
        Assert.Equal(before, await QueryAsync<(string, string, string, int, long)>(
            "select eval_run_id, case_id, metric, epoch, _batch_id from quality.eval_records order by eval_run_id, case_id, metric, epoch"));
    }

    [Fact]
    public async Task A_key_path_from_configuration_replaces_the_default()
    {
        var settings = new SourceSettings(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:promptfoo:Keys:customer_tier:0"] = "vars.account_tier",
            ["Sources:promptfoo:Keys:customer_tier:1"] = "testCase.metadata.customer_tier",
        }).Build());

        await LoadAsync(Fixture("refund-eval.json"), settings: settings);
        await LoadAsync(Fixture("refund-eval.csv"), settings: settings);

        Assert.Equal([("promptfoo", "gold", 36L), ("promptfoo", "silver", 60L)], await QueryAsync<(string, string, long)>(
            "select source, customer_tier, cast(count(*) as bigint) from quality.eval_records where eval_run_id like 'eval-%' "
            + "group by source, customer_tier order by customer_tier"));
        Assert.Equal([("gold", 12L), ("silver", 12L)], await QueryAsync<(string, long)>(
            "select customer_tier, cast(count(*) as bigint) from quality.eval_records where eval_run_id like 'csv-%' "
            + "group by customer_tier order by customer_tier"));
    }

    [Fact]
    public async Task A_gzipped_results_json_loads_like_the_plain_one()
    {
        var path = Path.Combine(Files.Folder, "refund-eval.json.gz");
        await using (var target = File.Create(path))
        await using (var gzip = new GZipStream(target, CompressionLevel.Optimal))
        await using (var source = File.OpenRead(Fixture("refund-eval.json")))
        {
            await source.CopyToAsync(gzip, Token);
        }

        var result = await LoadAsync(path);

        Assert.Equal(("promptfoo-json", 96L, 0L), (result.Format, result.RowsLoaded, result.RowsRejected));
        Assert.Equal(
            [
                ("refund-v3", "cites_clause", 24L, 23L, 15_000L, 15L),
                ("refund-v3", "policy_accuracy", 24L, 23L, 13_400L, 10L),
                ("refund-v4", "cites_clause", 24L, 24L, 17_000L, 17L),
                ("refund-v4", "policy_accuracy", 24L, 24L, 13_550L, 10L),
            ],
            await SummaryAsync());
    }

    [Fact]
    public async Task Two_large_results_files_one_per_prompt_version_give_the_right_metric_means()
    {
        var v3 = PromptfooGenerated.Write(Files.Folder, "refund-v3", cases: 300, seed: 3);
        var v4 = PromptfooGenerated.Write(Files.Folder, "refund-v4", cases: 300, seed: 4);

        var first = await LoadAsync(v3.Path);
        var second = await LoadAsync(v4.Path);

        Assert.Equal((FileLoadStatus.Loaded, 600L), (first.Status, first.RowsLoaded));
        Assert.Equal((FileLoadStatus.Loaded, 600L), (second.Status, second.RowsLoaded));
        var means = await QueryAsync<(string, string, long, double, long)>(
            "select prompt_version, metric, cast(count(*) as bigint), avg(score), cast(sum(case when is_passed = @yes then 1 else 0 end) as bigint) "
            + "from quality.eval_records group by prompt_version, metric order by prompt_version, metric", new { yes = true });
        var expected = v3.Expected.Concat(v4.Expected).OrderBy(row => row.Prompt, StringComparer.Ordinal).ThenBy(row => row.Metric, StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Select(row => (row.Prompt, row.Metric, (long)row.Count, row.Passed)), means.Select(row => (row.Item1, row.Item2, row.Item3, row.Item5)));
        foreach (var (row, mean) in expected.Zip(means))
        {
            Assert.Equal(row.Mean, mean.Item4, 9);
        }

        Assert.Equal([(Model, 300L)], await QueryAsync<(string, long)>(
            "select model_version, cast(count(distinct case_id) as bigint) from quality.eval_records group by model_version"));
        var tiers = await QueryAsync<(string, string, long)>(
            "select prompt_version, customer_tier, cast(count(*) as bigint) from quality.eval_records group by prompt_version, customer_tier order by prompt_version, customer_tier");
        Assert.Equal(v3.Tiers.Concat(v4.Tiers).Select(tier => (tier.Prompt, tier.Tier, (long)tier.Rows)), tiers);
    }
}

public sealed class PromptfooDuckDbTests : PromptfooSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class PromptfooPostgresTests : PromptfooSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class PromptfooSqlServerTests : PromptfooSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}

/// <summary>Detection from content alone, for every promptfoo export (and not for the canonical files).</summary>
public sealed class PromptfooDetectionTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData("refund-eval.json", "promptfoo-json")]
    [InlineData("refund-eval-bad-records.json", "promptfoo-json")]
    [InlineData("refund-eval.jsonl", "promptfoo-jsonl")]
    [InlineData("refund-eval.csv", "promptfoo-csv")]
    public void Each_export_is_detected_without_a_format(string file, string format)
    {
        var detected = SourceDetector.Detect(PromptfooSuite.Fixture(file));

        Assert.Equal(format, detected.Format.Name);
        Assert.Equal("promptfoo", detected.Format.SourceName);
        Assert.Equal("quality.eval_records", detected.Schema.QualifiedName);
    }

    [Fact]
    public void A_gzipped_export_and_a_minified_one_line_export_are_detected()
    {
        var gz = Path.Combine(_files.Folder, "results.json.gz");
        using (var target = File.Create(gz))
        using (var gzip = new GZipStream(target, CompressionLevel.Fastest))
        {
            gzip.Write(File.ReadAllBytes(PromptfooSuite.Fixture("refund-eval.json")));
        }

        var minified = _files.Write("small.json", JsonNode.Parse(File.ReadAllText(PromptfooSuite.Fixture("refund-eval-bad-records.json")))!.ToJsonString());

        Assert.Equal("promptfoo-json", SourceDetector.Detect(gz).Format.Name);
        Assert.Equal("promptfoo-json", SourceDetector.Detect(minified).Format.Name);
    }

    [Fact]
    public void Canonical_files_are_not_claimed()
    {
        var csv = _files.EvalCsv("evals.csv", cases: 2);

        Assert.StartsWith("canonical", SourceDetector.Detect(csv).Format.Name);
    }
}

/// <summary>A large promptfoo results.json for one prompt version, with its expected aggregates computed here.</summary>
internal static class PromptfooGenerated
{
    public sealed record Aggregate(string Prompt, string Metric, int Count, double Mean, long Passed);

    public sealed record Generated(string Path, List<Aggregate> Expected, List<(string Prompt, string Tier, int Rows)> Tiers);

    private static readonly string[] Tiers = ["consumer", "enterprise", "smb"];

    public static Generated Write(string folder, string prompt, int cases, int seed)
    {
        var random = new Random(seed);
        var sums = new Dictionary<string, (int Count, double Sum, long Passed)>(StringComparer.Ordinal);
        var tierRows = new Dictionary<string, int>(StringComparer.Ordinal);
        var path = System.IO.Path.Combine(folder, $"{prompt}-results.json");
        using (var stream = File.Create(path))
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("evalId", $"eval-{prompt}-2026-03-04T08:00:00");
            writer.WriteStartObject("results");
            writer.WriteNumber("version", 3);
            writer.WriteString("timestamp", "2026-03-04T08:00:00.000Z");
            writer.WriteStartArray("results");
            for (var index = 0; index < cases; index++)
            {
                var tier = Tiers[random.Next(Tiers.Length)];
                tierRows[tier] = tierRows.GetValueOrDefault(tier) + 2;
                var accuracy = Math.Round(random.NextDouble(), 3);
                var cites = random.Next(4) == 0 ? 0.0 : 1.0;
                writer.WriteStartObject();
                writer.WriteString("id", $"{prompt}-{index:D5}");
                writer.WriteNumber("testIdx", index);
                writer.WriteNumber("promptIdx", 0);
                writer.WriteStartObject("provider");
                writer.WriteString("id", "openai:chat:" + "gpt-4o-2024-08-06");
                writer.WriteEndObject();
                writer.WriteStartObject("prompt");
                writer.WriteString("label", prompt);
                writer.WriteEndObject();
                writer.WriteStartObject("testCase");
                writer.WriteString("description", $"case {index}");
                writer.WriteStartObject("metadata");
                writer.WriteString("case_id", $"gen-{index:D4}");
                writer.WriteString("customer_tier", tier);
                writer.WriteString("intent", index % 2 == 0 ? "refund_request" : "contract_dispute");
                writer.WriteEndObject();
                writer.WriteEndObject();
                writer.WriteStartObject("namedScores");
                writer.WriteNumber("policy_accuracy", accuracy);
                writer.WriteNumber("cites_clause", cites);
                writer.WriteEndObject();
                writer.WriteStartObject("gradingResult");
                writer.WriteStartArray("componentResults");
                foreach (var (metric, score, pass) in new[] { ("policy_accuracy", accuracy, accuracy >= 0.7), ("cites_clause", cites, cites >= 1) })
                {
                    var (count, sum, passed) = sums.GetValueOrDefault(metric);
                    sums[metric] = (count + 1, sum + score, passed + (pass ? 1 : 0));
                    writer.WriteStartObject();
                    writer.WriteBoolean("pass", pass);
                    writer.WriteNumber("score", score);
                    writer.WriteStartObject("assertion");
                    writer.WriteString("type", "javascript");
                    writer.WriteString("metric", metric);
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
                writer.WriteNumber("score", (accuracy + cites) / 2);
                writer.WriteBoolean("success", accuracy >= 0.7 && cites >= 1);
                writer.WriteNumber("latencyMs", 900 + random.Next(2000));
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteStartObject("config");
            writer.WriteStartObject("metadata");
            writer.WriteString("dataset_id", "refund-golden");
            writer.WriteString("dataset_version", "v8");
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        var expected = sums.Select(pair => new Aggregate(prompt, pair.Key, pair.Value.Count, pair.Value.Sum / pair.Value.Count, pair.Value.Passed))
            .OrderBy(row => row.Metric, StringComparer.Ordinal).ToList();
        var tiers = tierRows.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => (prompt, pair.Key, pair.Value)).ToList();
        return new Generated(path, expected, tiers);
    }
}
