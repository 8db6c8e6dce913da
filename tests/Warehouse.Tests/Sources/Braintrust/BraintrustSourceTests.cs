using System.IO.Compression;
using Microsoft.Extensions.Configuration;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Sources.Braintrust;

/// <summary>Braintrust experiment events (JSONL): root spans only, latest _xact_id, null scores, trials, on every engine.</summary>
public abstract class BraintrustSuite : DatabaseSuite
{
    private const string Experiment = "e7c1d5a0-2f4b-4c8e-9b3a-6d1f0e2a7b90";

    protected override bool MigrateOnInitialize => true;

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval", "braintrust", name);

    /// <summary>This suite passes settings before options.</summary>
    private Task<FileLoadResult> LoadAsync(string path, SourceSettings? settings = null, LoadOptions? options = null) =>
        base.LoadAsync(path, options, settings);

    private Task<List<EvalRecordRow>> RowsAsync() => QueryAsync<EvalRecordRow>("select * from quality.eval_records order by case_id, metric, epoch");

    [Fact]
    public async Task Loads_one_row_per_root_span_and_score_keeping_the_latest_xact_id()
    {
        var result = await LoadAsync(Fixture("experiment-refund-v4.jsonl"));

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal("braintrust-jsonl", result.Format);
        Assert.Equal((8L, 8L, 0L), (result.RowsRead, result.RowsInserted, result.RowsRejected));
        var rows = await RowsAsync();
        Assert.Equal(
        [
            "rf-101|Factuality|1|0.75|0.75|null",
            "rf-101|PolicyAccuracy|1|1|1|null",
            "rf-102|Factuality|1|0.6|0.6|null",       // re-logged with a higher _xact_id after review
            "rf-102|PolicyAccuracy|1|1|1|null",
            "rf-103|PolicyAccuracy|1|0|0|null",       // newer version first in the file; Factuality null = skipped
            "rf-104|PolicyAccuracy|1|1|1|null",       // trial 1
            "rf-104|PolicyAccuracy|2|0|0|null",       // trial 2
            "rf-105|PolicyAccuracy|1|1|true|null",    // OTEL-mode root (no is_root), boolean scorer
        ], rows.Select(row => row.Line));
        Assert.All(rows, row => Assert.Equal(("braintrust", Experiment), (row.source, row.eval_run_id)));
        Assert.All(rows, row => Assert.Equal(("refund-v4", "kb-retriever-2.3.1", "treatment", "refund-judge-v2", "refund_summary"),
            (row.prompt_version, row.retriever_version, row.experiment_bucket, row.judge_version, row.feature)));
        Assert.All(rows, row => Assert.Equal("gpt-4o-2024-08-06", row.model_version));

        var first = rows.First(row => row.case_id == "rf-101");
        // The task's LLM span gives the tokens; the judge's LLM call under the Factuality scorer does not count.
        Assert.Equal((2459.0, 455L, 52L), (first.latency_ms!.Value, first.input_tokens!.Value, first.output_tokens!.Value));
        Assert.Equal(("en", "consumer", "refund_request", "d3a9f1c4-5b2e-4e7a-8c61-0f9b2d4e6a17"),
            (first.language, first.customer_tier, first.intent, first.dataset_id));
        Assert.Equal(new DateTime(2024, 11, 4, 9, 15, 2, 412), Utc(first.evaluated_at!.Value));
        Assert.Contains("\"judge_model\":\"gpt-4o-mini-2024-07-18\"", first.attributes);
        Assert.Contains("\"tags\":\"golden\"", first.attributes);

        var german = rows.First(row => row.case_id == "rf-102");
        Assert.Equal(("de", "enterprise", "contract_dispute", 2822.0), (german.language, german.customer_tier, german.intent, german.latency_ms!.Value));
        Assert.Null(german.input_tokens);
        Assert.Contains("\"tags\":\"golden,reviewed\"", german.attributes);
        Assert.Contains("\"xact_id\":\"1000194011502119002\"", german.attributes);

        Assert.Contains("\"skipped_scores\":\"Factuality\"", rows.Single(row => row.case_id == "rf-103").attributes);

        var otel = rows.Single(row => row.case_id == "rf-105");
        Assert.Equal(("de", "unknown", "unknown", 1250.0, 380L, 41L), (otel.language, otel.customer_tier, otel.dataset_id, otel.latency_ms!.Value,
            otel.input_tokens!.Value, otel.output_tokens!.Value));
        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", otel.source_trace_id);
        Assert.Contains("\"model_raw\":\"openai/gpt-4o-2024-08-06\"", otel.attributes);
    }

    [Fact]
    public async Task Bad_records_are_rejected_with_their_line_and_reason_and_the_rest_loads()
    {
        var path = Fixture("experiment-malformed.jsonl");

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((8L, 3L, 5L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        Assert.Equal(["rf-201|Factuality|1|0.5|0.5|null", "rf-201|PolicyAccuracy|1|1|1|null", "rf-206|PolicyAccuracy|1|0|0|null"],
            (await RowsAsync()).Select(row => row.Line));
        var rejects = await QueryAsync<(long, string, string)>("select record_number, reason, file_path from etl.rejected_records order by record_number");
        Assert.Equal([2L, 3L, 4L, 5L, 7L], rejects.Select(reject => reject.Item1));
        Assert.Contains("score 'PolicyAccuracy' is \"high\", not a number", rejects[0].Item2);
        Assert.Contains("not valid JSON", rejects[1].Item2);
        Assert.Contains("no case id", rejects[2].Item2);
        Assert.Contains("1.7, outside 0..1", rejects[3].Item2);
        Assert.Contains("no scores (error: RateLimitError", rejects[4].Item2);
        Assert.All(rejects, reject => Assert.Equal(path, reject.Item3));
    }

    [Fact]
    public async Task A_file_cut_off_mid_line_fails_the_batch_and_loads_nothing()
    {
        var path = Fixture("experiment-truncated.jsonl");

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("experiment-truncated.jsonl", result.Message);
        Assert.Contains("line 9, the last, is cut off", result.Message);
        Assert.Empty(await RowsAsync());
        Assert.Equal(["failed"], await QueryAsync<string>("select status from etl.load_batches"));
    }

    [Fact]
    public async Task Reloading_the_file_changes_nothing()
    {
        var path = Fixture("experiment-refund-v4.jsonl");
        await LoadAsync(path);
        var before = (await RowsAsync()).Select(row => row.Line + "|" + row.attributes).ToList();

        var skipped = await LoadAsync(path);
        var forced = await LoadAsync(path, options: new LoadOptions(Force: true));

        Assert.Equal(FileLoadStatus.Skipped, skipped.Status);
        Assert.Equal((0L, 0L, 8L), (forced.RowsInserted, forced.RowsUpdated, forced.RowsUnchanged));
        Assert.Equal(before, (await RowsAsync()).Select(row => row.Line + "|" + row.attributes));
    }

    [Fact]
    public async Task Key_paths_can_be_overridden_in_configuration()
    {
        var settings = new SourceSettings(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:braintrust:Keys:customer_tier:0"] = "metadata.account_tier",
            ["Sources:braintrust:Keys:customer_tier:1"] = "metadata.customer_tier",
            ["Sources:braintrust:Keys:case_id"] = "origin.id",
        }).Build());

        await LoadAsync(Fixture("experiment-refund-v4.jsonl"), settings);

        var rows = await RowsAsync();
        var byTier = rows.Where(row => row.metric == "PolicyAccuracy").ToDictionary(row => (row.case_id, row.epoch), row => row.customer_tier);
        // case_id is now the Braintrust dataset record id; rf-105 has no origin and is rejected.
        Assert.Equal(5, byTier.Count);
        Assert.Equal("smb", byTier[(OriginId("rf-101"), 1)]);
        Assert.Equal("enterprise", byTier[(OriginId("rf-102"), 1)]);
        Assert.Equal("consumer", byTier[(OriginId("rf-104"), 2)]);
        Assert.Contains("no case id (looked in origin.id)", (await QueryAsync<string>("select reason from etl.rejected_records")).Single());
    }

    [Fact]
    public async Task A_gzip_export_is_detected_and_loaded_as_a_stream()
    {
        var gzipped = Path.Combine(Files.Folder, "experiment-refund-v4.jsonl.gz");
        await using (var output = File.Create(gzipped))
        await using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        await using (var input = File.OpenRead(Fixture("experiment-refund-v4.jsonl")))
        {
            await input.CopyToAsync(gzip, Token);
        }

        var result = await LoadAsync(gzipped);

        Assert.Equal((FileLoadStatus.Loaded, "braintrust-jsonl", 8L), (result.Status, result.Format, result.RowsInserted));
        Assert.Equal(0.6, (await RowsAsync()).Single(row => row.case_id == "rf-102" && row.metric == "Factuality").score);
    }

    /// <summary>The Braintrust dataset record id (origin.id) of a case in the fixture.</summary>
    private static string OriginId(string caseId)
    {
        foreach (var line in File.ReadLines(Fixture("experiment-refund-v4.jsonl")))
        {
            using var document = System.Text.Json.JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.GetProperty("metadata") is { ValueKind: System.Text.Json.JsonValueKind.Object } metadata
                && metadata.TryGetProperty("case_id", out var id) && id.GetString() == caseId)
            {
                return root.GetProperty("origin").GetProperty("id").GetString()!;
            }
        }

        throw new InvalidOperationException($"no {caseId} in the fixture");
    }

    private static DateTime Utc(DateTime value) =>
        DateTime.SpecifyKind(value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value, DateTimeKind.Unspecified);
}

public sealed class BraintrustDuckDbTests : BraintrustSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class BraintrustPostgresTests : BraintrustSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class BraintrustSqlServerTests : BraintrustSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}

public sealed class BraintrustDetectionTests
{
    [Fact]
    public void Experiment_events_are_detected_without_a_format()
    {
        Assert.Equal("braintrust-jsonl", SourceDetector.Detect(BraintrustSuite.Fixture("experiment-refund-v4.jsonl")).Format.Name);
        Assert.Equal("braintrust-jsonl", SourceDetector.Detect(BraintrustSuite.Fixture("experiment-malformed.jsonl")).Format.Name);
    }
}
