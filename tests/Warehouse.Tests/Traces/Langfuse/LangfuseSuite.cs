using System.Text.Json;
using System.Text.Json.Nodes;
using Warehouse.Loading;
using Warehouse.Migrations;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Traces.Langfuse;

/// <summary>
/// Langfuse exports on every engine: the public API JSONL (TraceWithFullDetails per line), the UI
/// traces-table CSV, and the scheduled blob-storage export (traces / observations / scores
/// folders, in Parquet, gzipped JSON Lines, JSON and CSV) — all one source, "langfuse", whose
/// parts of a trace meet whichever export brought them.
/// </summary>
public abstract class LangfuseSuite : TraceSuite
{
    public const string Project = "cm7rfnd0prod0000000001";
    public const string T1 = "5c3e9a1f8b2d4e67a09c1b2d3e4f5a61";
    public const string T2 = "d41f7b2a9c6e4b08b1e2f3a4c5d6e7f8";
    public const string T3 = "8e2b6c4d1a9f4e3c9b7a5d3e1f0c2b49";
    public const string T4 = "a7c3e5f1b9d24e6c8f0a2b4d6e8f1a3c";

    public static string Fixture(string name) => Fixture("langfuse", name);

    /// <summary>
    /// The four traces of the API export, and of the blob export of the same project. T1: a TOOL
    /// observation at ERROR with a JSONDecodeError, thumbs-down (BOOLEAN 0) with a comment; latency
    /// 4.87 s. T2: an empty RETRIEVER; prompt and model versions only from the generation
    /// (refund + 3 → refund-v3), the tier only from a `customer_tier:enterprise` tag. T3: an
    /// agent loop whose SPAN repeats its children's usage, two generations (one with cached and
    /// reasoning tokens as Langfuse's disjoint detail keys) and an embedding; thumbs-up an hour later.
    /// T4: latency and totalCost -1 (metrics not computed) so both come from the observations;
    /// cached tokens as a subset of input; an explicit "complaint" annotation and a 0.8 user rating.
    /// </summary>
    public static readonly string[] Expected =
    [
        $"langfuse|{T1}|2025-06-03T10:15:02.120000|gpt-4o-2024-08-06|refund-v4|kb-retriever-2.3.0|guard-1.7|treatment|refund_summary|refund_request|en|consumer|unknown|<2k|4870|0.0067275|1843|212|912|ECTJ-|JSONDecodeError|0|sess_9f2c1a77",
        $"langfuse|{T4}|2025-06-03T10:29:59.250000|gpt-4o-mini-2024-07-18|refund-v4|unknown|guard-1.7|treatment|billing_summary|billing_question|es|consumer|json|2k-8k|1875|0.00262|1200|90|2304|-C---|-|0.8|sess_7d3e0f11",
        $"langfuse|{T3}|2025-06-03T10:21:10.000000|gpt-4o-2024-08-06|refund-v3|kb-retriever-2.3.0|guard-1.7|control|refund_summary|refund_request|en|consumer|unknown|<2k|4480|0.01026548|2826|376|640|-----|-|1|sess_c0e4a912",
        $"langfuse|{T2}|2025-06-03T10:17:45.500000|gpt-4o-2024-08-06|refund-v3|kb-retriever-2.3.0|guard-1.7|control|refund_summary|contract_dispute|de|enterprise|unknown|<2k|3210|0.0054|956|301|0|----R|-|-|sess_51e0b3d4",
    ];

    public static List<string> Sorted(IEnumerable<string> lines) => lines.Order(StringComparer.Ordinal).ToList();

    private string BlobFolder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "trace", "langfuse", "blob");

    private async Task<List<FileLoadResult>> LoadAllAsync(IEnumerable<string> paths, Func<string, Task<FileLoadResult>>? load = null)
    {
        var results = new List<FileLoadResult>();
        foreach (var path in Loader.ExpandPaths(paths))
        {
            results.Add(await (load ?? (file => LoadAsync(file)))(path));
        }

        return results;
    }

    /// <summary>Every column but _batch_id / _loaded_at, attributes included, one line per trace.</summary>
    private static async Task<List<string>> FullRowsAsync(Warehouse.Engines.WarehouseEngine engine)
    {
        await using var connection = await engine.OpenAsync(Token);
        var rows = await Dapper.SqlMapper.QueryAsync<TraceRow>(connection, "select * from quality.trace_summaries order by trace_id");
        return Sorted(rows.Select(row => $"{row}|{row.trace_url}|{row.input_preview}|{row.attributes}"));
    }

    [Fact]
    public async Task The_api_export_loads_latency_in_ms_cost_and_tokens_once_and_complaints_from_scores()
    {
        var result = await LoadAsync(Fixture("api-traces.jsonl"));

        Assert.True(result.Status == FileLoadStatus.Loaded, result.Message);
        Assert.Equal(("langfuse-api-jsonl", 4L, 4L), (result.Format, result.RowsRead > 0 ? result.Traces!.RolledUp : -1, result.RowsInserted));
        Assert.Equal(Sorted(Expected), await TraceLinesAsync());
        // 4 traces + 17 observations + 6 scores.
        Assert.Equal(27L, await PartCountAsync("langfuse"));

        var t1 = (await TraceRowsAsync()).Single(row => row.trace_id == T1);
        Assert.Equal($"/project/{Project}/traces/{T1}", t1.trace_url);
        Assert.Equal("I returned the blender two weeks ago (order A-99213). Where is my refund?", t1.input_preview);
        var attributes = JsonNode.Parse(t1.attributes!)!.AsObject();
        Assert.Equal("Bot said my refund was approved but the order page says it was rejected.", (string?)attributes["feedback_comment"]);
        Assert.Equal("refund-support-turn", (string?)attributes["root_name"]);
        Assert.Equal(4, (int?)attributes["span_count"]);
        Assert.Equal("cust_48213", (string?)attributes["user_id"]);
        Assert.Equal("refund_summary,refund_request,consumer,treatment", (string?)attributes["tags"]);

        var t4 = JsonNode.Parse((await TraceRowsAsync()).Single(row => row.trace_id == T4).attributes!)!.AsObject();
        Assert.Equal(["complaint|1|", "tone||polite", "user_rating|0.8|"], Sorted(t4["feedback"]!.AsArray()
            .Select(item => $"{(string?)item!["name"]}|{item["score"]?.ToJsonString()}|{(string?)item["label"]}")));
    }

    public enum BlobForm
    {
        Parquet,
        JsonlGz,
        Json,
        Csv,
        Jsonl,
    }

    [Theory]
    [InlineData(BlobForm.Parquet, "langfuse-blob-parquet")]
    [InlineData(BlobForm.JsonlGz, "langfuse-blob-jsonl")]
    [InlineData(BlobForm.Json, "langfuse-blob-jsonl")]
    [InlineData(BlobForm.Csv, "langfuse-blob-csv")]
    [InlineData(BlobForm.Jsonl, "langfuse-blob-jsonl")]
    public async Task The_blob_export_folder_loads_to_the_same_rows_as_the_api_export(BlobForm form, string format)
    {
        var folder = form == BlobForm.Jsonl
            ? BlobFolder
            : Path.Combine(Files.Folder, "bucket");
        if (form != BlobForm.Jsonl)
        {
            await LangfuseBlobFiles.WriteAsync(BlobFolder, folder, form switch
            {
                BlobForm.Parquet => LangfuseBlobFiles.Container.Parquet,
                BlobForm.JsonlGz => LangfuseBlobFiles.Container.JsonlGz,
                BlobForm.Json => LangfuseBlobFiles.Container.Json,
                _ => LangfuseBlobFiles.Container.Csv,
            });
        }

        // The API export in this test's database; the blob folder, file by file as `warehouse load <folder>` does, in a second one.
        var api = await LoadAsync(Fixture("api-traces.jsonl"));
        Assert.Equal(FileLoadStatus.Loaded, api.Status);
        await using var second = await CreateDatabaseAsync();
        new Migrator(second.Engine).Migrate();
        var loader = new Loader(second.Engine);
        var results = await LoadAllAsync([folder], file => loader.LoadFileAsync(file, new LoadOptions(), Token));

        Assert.Equal(6, results.Count);
        Assert.All(results, result => Assert.True(result.Status == FileLoadStatus.Loaded, result.Message));
        Assert.All(results, result => Assert.Equal(format, result.Format));
        await using (var connection = await second.Engine.OpenAsync(Token))
        {
            var lines = (await Dapper.SqlMapper.QueryAsync<TraceRow>(connection, "select * from quality.trace_summaries")).Select(row => row.ToString());
            Assert.Equal(Sorted(Expected), Sorted(lines));
        }

        Assert.Equal(await FullRowsAsync(Engine), await FullRowsAsync(second.Engine));
    }

    [Fact]
    public async Task The_blob_export_loaded_over_the_api_export_changes_no_row()
    {
        await LoadAsync(Fixture("api-traces.jsonl"));
        var before = await FullRowsAsync(Engine);
        var folder = Path.Combine(Files.Folder, "bucket");
        await LangfuseBlobFiles.WriteAsync(BlobFolder, folder, LangfuseBlobFiles.Container.Parquet);

        var results = await LoadAllAsync([folder]);

        Assert.All(results, result => Assert.Equal((FileLoadStatus.Loaded, 0L, 0L), (result.Status, result.RowsInserted, result.RowsUpdated)));
        Assert.Equal(before, await FullRowsAsync(Engine));
        Assert.Equal(27L, await PartCountAsync("langfuse"));
    }

    [Fact]
    public async Task Observations_split_over_windows_and_late_scores_roll_up_into_one_row_per_trace()
    {
        var files = Loader.ExpandPaths([BlobFolder]).ToList();
        var results = new Dictionary<string, FileLoadResult>();
        foreach (var file in files)
        {
            results[Path.GetRelativePath(BlobFolder, file)] = await LoadAsync(file);
        }

        // The first observations window has T1-T3 and T4's root; the second T4's guardrail and generation.
        Assert.Equal((4L, 4L, 0L), Counts(results[$"{Project}/observations/2025-06-03T10-30-00Z.jsonl"]));
        Assert.Equal((1L, 1L, 0L), Counts(results[$"{Project}/observations/2025-06-03T11-00-00Z.jsonl"]));
        // Scores an hour later update the traces they belong to.
        Assert.Equal((2L, 2L, 0L), Counts(results[$"{Project}/scores/2025-06-03T11-00-00Z.jsonl"]));
        Assert.Equal(Sorted(Expected), await TraceLinesAsync());

        static (long Touched, long RolledUp, long Waiting) Counts(FileLoadResult result) =>
            (result.Traces!.Touched, result.Traces.RolledUp, result.Traces.Waiting);
    }

    [Fact]
    public async Task Scores_that_arrive_before_their_trace_wait_for_it()
    {
        var scores = Path.Combine(BlobFolder, Project, "scores", "2025-06-03T11-30-00Z.jsonl");

        var early = await LoadAsync(scores);
        Assert.Equal((1L, 0L, 1L), (early.Traces!.Touched, early.Traces.RolledUp, early.Traces.Waiting));
        Assert.Empty(await TraceLinesAsync());

        await LoadAsync(Fixture("api-traces.jsonl"));
        Assert.Equal(Sorted(Expected), await TraceLinesAsync());
    }

    [Fact]
    public async Task A_reload_changes_nothing()
    {
        await LoadAsync(Fixture("api-traces.jsonl"));
        await AssertReloadChangesNothingAsync(Fixture("api-traces.jsonl"));
        var observations = Path.Combine(BlobFolder, Project, "observations", "2025-06-03T10-30-00Z.jsonl");
        await LoadAsync(observations);
        await AssertReloadChangesNothingAsync(observations);
    }

    [Fact]
    public async Task A_later_export_of_a_trace_updates_its_row_and_never_duplicates_it()
    {
        await LoadAsync(Fixture("api-traces.jsonl"));
        var later = await LoadAsync(Fixture("api-traces-later.jsonl"));

        Assert.Equal((FileLoadStatus.Loaded, 0L, 1L), (later.Status, later.RowsInserted, later.RowsUpdated));
        var expected = Expected.Where(line => !line.Contains(T2, StringComparison.Ordinal)).Append(
            $"langfuse|{T2}|2025-06-03T10:17:45.500000|gpt-4o-2024-08-06|refund-v3|kb-retriever-2.3.0|guard-1.7|control|refund_summary|contract_dispute|de|enterprise|unknown|<2k|4410|0.0091|1956|421|0|-C--R|-|0|sess_51e0b3d4");
        Assert.Equal(Sorted(expected), await TraceLinesAsync());
        Assert.Equal(4L, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));
    }

    [Fact]
    public async Task The_ui_traces_table_csv_loads_its_traces_and_score_columns()
    {
        var result = await LoadAsync(Fixture("ui-traces-export.csv"));

        Assert.True(result.Status == FileLoadStatus.Loaded, result.Message);
        Assert.Equal("langfuse-ui-csv", result.Format);
        // No tokens, cost or latency in the traces table; the score columns give feedback (per-trace averages).
        Assert.Equal(Sorted(
        [
            $"langfuse|{T1}|2025-06-03T10:15:02.120000|gpt-4o-2024-08-06|refund-v4|kb-retriever-2.3.0|guard-1.7|treatment|refund_summary|refund_request|en|consumer|unknown|<2k|-|-|-|-|912|-C---|-|0|sess_9f2c1a77",
            $"langfuse|{T2}|2025-06-03T10:17:45.500000|unknown|unknown|kb-retriever-2.3.0|guard-1.7|control|refund_summary|contract_dispute|de|enterprise|unknown|<2k|-|-|-|-|0|-----|-|-|sess_51e0b3d4",
            $"langfuse|{T3}|2025-06-03T10:21:10.000000|unknown|refund-v3|kb-retriever-2.3.0|guard-1.7|control|refund_summary|refund_request|en|consumer|unknown|<2k|-|-|-|-|640|-----|-|1|sess_c0e4a912",
            $"langfuse|{T4}|2025-06-03T10:29:59.250000|unknown|refund-v4|unknown|guard-1.7|treatment|billing_summary|billing_question|es|consumer|json|2k-8k|-|-|-|-|2304|-C---|-|0.8|sess_7d3e0f11",
        ]), await TraceLinesAsync());
        Assert.Equal(4L + 6L, await PartCountAsync("langfuse"));
    }

    [Fact]
    public async Task Enriched_observations_v2_carry_the_trace_session_tags_and_release()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "trace", "langfuse", "blob-v2");
        var results = await LoadAllAsync([folder]);

        Assert.Equal(("langfuse-blob-jsonl", FileLoadStatus.Loaded), (results.Single().Format, results.Single().Status));
        // The root's metadata has no tier or bucket here: they come from the tags (customer_tier:consumer, bucket:treatment).
        Assert.Equal(
        [
            $"langfuse|{T1}|2025-06-03T10:15:02.120000|gpt-4o-2024-08-06|refund-v4|kb-retriever-2.3.0|guard-1.7|treatment|refund_summary|refund_request|en|consumer|unknown|<2k|4870|0.0067275|1843|212|912|E-TJ-|JSONDecodeError|-|sess_9f2c1a77",
        ], await TraceLinesAsync());
    }

    [Fact]
    public async Task A_malformed_api_export_rejects_record_by_record_while_good_traces_load()
    {
        var result = await LoadAsync(Fixture("api-malformed.jsonl"));

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal(
        [
            (1L, "trace f5e4d3c2b1a09f8e7d6c5b4a39281706, observation aa00000000000002: startTime 'yesterday' is not a timestamp"),
            (1L, "trace f5e4d3c2b1a09f8e7d6c5b4a39281706, score bb00000000000001: score bb00000000000001 value 'abc' is not a number"),
            (2L, "line 2 is not valid JSON"),
            (3L, "trace: timestamp 'not-a-time' is not a timestamp"),
            (4L, "trace: the trace has no id"),
            (5L, "trace: latency 'fast' is not a number"),
            (6L, "line 6 is a JSON array, not an object"),
            (7L, "line 7 is cut off: the file ends in the middle of a record"),
        ], (await RejectsAsync(result.BatchId!.Value)).Select(reject => (reject.RecordNumber, Prefix(reject.Reason))).ToList());
        Assert.Equal(["langfuse|f5e4d3c2b1a09f8e7d6c5b4a39281706|2025-06-04T08:00:00.000000|gpt-4o-2024-08-06|unknown|unknown|unknown|unknown|unknown|unknown|unknown|consumer|unknown|unknown|1500|0.001|100|20|-|-----|-|-|sess_bad_1"],
            await TraceLinesAsync());
    }

    [Fact]
    public async Task A_malformed_blob_file_rejects_row_by_row_while_good_rows_load()
    {
        var result = await LoadAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "trace", "langfuse", "malformed", Project, "observations", "2025-06-04T09-30-00Z.jsonl"));

        Assert.Equal((FileLoadStatus.LoadedWithRejects, "langfuse-blob-jsonl"), (result.Status, result.Format));
        Assert.Equal(
        [
            (2L, "observation cc00000000000002: observation cc00000000000002 usageDetails.input 'many' is not a number"),
            (3L, "observation cc00000000000003: startTime '2025-13-45 99:00:00' is not a timestamp"),
            (4L, "observation cc00000000000004: observation cc00000000000004 has no trace id"),
            (5L, "observation cc00000000000005: observation cc00000000000005 ends (2025-06-04T08:59:00.0000000Z) before it starts (2025-06-04T09:00:00.0000000Z)"),
            (6L, "line 6 is not valid JSON"),
        ], (await RejectsAsync(result.BatchId!.Value)).Select(reject => (reject.RecordNumber, Prefix(reject.Reason))).ToList());
        Assert.Equal(["langfuse|c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6|2025-06-04T09:00:00.000000|gpt-4o-2024-08-06|unknown|unknown|unknown|unknown|unknown|unknown|unknown|unknown|unknown|unknown|2000|0.0001|10|5|-|-----|-|-|-"],
            await TraceLinesAsync());
    }

    [Fact]
    public async Task A_malformed_ui_csv_rejects_row_by_row_while_good_rows_load()
    {
        var result = await LoadAsync(Fixture("ui-malformed.csv"));

        Assert.Equal((FileLoadStatus.LoadedWithRejects, "langfuse-ui-csv"), (result.Status, result.Format));
        Assert.Equal(
        [
            (3L, "trace d7d7d7d7: timestamp 'last tuesday' is not a timestamp"),
            (4L, "row has 3 fields but the header has 16"),
            (5L, "trace: the trace has no id"),
        ], (await RejectsAsync(result.BatchId!.Value)).Select(reject => (reject.RecordNumber, reject.Reason)).ToList());
        Assert.Equal(["langfuse|f5e4d3c2b1a09f8e7d6c5b4a39281706|2025-06-04T08:00:00.000000|unknown|unknown|unknown|unknown|unknown|unknown|unknown|unknown|consumer|unknown|unknown|-|-|-|-|-|-----|-|1|sess_bad_1"],
            await TraceLinesAsync());
        Assert.Equal("hello", (await TraceRowsAsync()).Single().input_preview);
    }

    /// <summary>A reject reason up to the parser's own message (which names positions that vary by runtime).</summary>
    private static string Prefix(string reason)
    {
        var open = reason.IndexOf(" (", StringComparison.Ordinal);
        return open > 0 && reason.EndsWith(')') && !reason.Contains("before it starts", StringComparison.Ordinal) ? reason[..open] : reason;
    }
}

/// <summary>Detection by content, not claiming other formats' fixtures, and --format forcing (no database).</summary>
public sealed class LangfuseDetectionTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Fixtures => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    [Theory]
    [InlineData("trace/langfuse/api-traces.jsonl", "langfuse-api-jsonl")]
    [InlineData("trace/langfuse/api-malformed.jsonl", "langfuse-api-jsonl")]
    [InlineData("trace/langfuse/ui-traces-export.csv", "langfuse-ui-csv")]
    [InlineData("trace/langfuse/blob/cm7rfnd0prod0000000001/traces/2025-06-03T10-30-00Z.jsonl", "langfuse-blob-jsonl")]
    [InlineData("trace/langfuse/blob/cm7rfnd0prod0000000001/observations/2025-06-03T10-30-00Z.jsonl", "langfuse-blob-jsonl")]
    [InlineData("trace/langfuse/blob/cm7rfnd0prod0000000001/scores/2025-06-03T10-30-00Z.jsonl", "langfuse-blob-jsonl")]
    public void Each_langfuse_export_is_recognised_by_its_content(string path, string format) =>
        Assert.Equal(format, SourceDetector.Detect(Path.Combine(Fixtures, path)).Format.Name);

    [Theory]
    [InlineData(LangfuseBlobFiles.Container.Parquet, "langfuse-blob-parquet")]
    [InlineData(LangfuseBlobFiles.Container.JsonlGz, "langfuse-blob-jsonl")]
    [InlineData(LangfuseBlobFiles.Container.Json, "langfuse-blob-jsonl")]
    [InlineData(LangfuseBlobFiles.Container.Csv, "langfuse-blob-csv")]
    public async Task Every_blob_container_is_recognised_whatever_the_file_is_named(LangfuseBlobFiles.Container container, string format)
    {
        var files = await LangfuseBlobFiles.WriteAsync(Path.Combine(Fixtures, "trace", "langfuse", "blob"), _files.Folder, container);
        foreach (var file in files)
        {
            // Renamed out of its folder: the columns alone tell the table.
            var renamed = Path.Combine(_files.Folder, "export-" + Path.GetFileName(Path.GetDirectoryName(file)) + Path.GetExtension(file));
            File.Copy(file, renamed, overwrite: true);
            Assert.Equal(format, SourceDetector.Detect(renamed).Format.Name);
        }
    }

    private static List<Warehouse.Traces.PartRecord> Parts(string path, string? format = null)
    {
        var detected = SourceDetector.Detect(path, format);
        return ((Warehouse.Traces.TracePartFormat)detected.Format)
            .ReadParts(detected.File, new Warehouse.Traces.TraceRules("langfuse"), TestContext.Current.CancellationToken).ToList();
    }

    [Fact]
    public void A_pretty_printed_trace_and_a_json_array_of_traces_read_like_the_api_lines()
    {
        var lines = File.ReadAllLines(Path.Combine(Fixtures, "trace", "langfuse", "api-traces.jsonl"));
        var pretty = _files.Write("trace-5c3e9a1f.json",
            JsonSerializer.Serialize(JsonDocument.Parse(lines[0]).RootElement, new JsonSerializerOptions { WriteIndented = true }));
        var array = _files.Write("traces.json", "[\n" + string.Join(",\n", lines) + "\n]\n");

        Assert.Equal("langfuse-api-jsonl", SourceDetector.Detect(pretty).Format.Name);
        Assert.Equal("langfuse-api-jsonl", SourceDetector.Detect(array).Format.Name);
        // T1: the trace, 4 observations, 1 score; all four traces: 4 + 17 + 6 parts.
        Assert.Equal(6, Parts(pretty).Count(record => record.Part is not null));
        Assert.Equal(27, Parts(array).Count(record => record.Part is not null));
    }

    [Fact]
    public async Task A_gzipped_parquet_file_is_read_through_a_temp_copy()
    {
        var files = await LangfuseBlobFiles.WriteAsync(Path.Combine(Fixtures, "trace", "langfuse", "blob"), _files.Folder, LangfuseBlobFiles.Container.Parquet);
        var observations = files.First(file => file.Contains("observations", StringComparison.Ordinal));
        var gzipped = observations + ".gz";
        await using (var target = File.Create(gzipped))
        await using (var gzip = new System.IO.Compression.GZipStream(target, System.IO.Compression.CompressionLevel.Fastest))
        {
            await gzip.WriteAsync(await File.ReadAllBytesAsync(observations, TestContext.Current.CancellationToken), TestContext.Current.CancellationToken);
        }

        var plain = Parts(observations).Select(record => record.Part!.PartId).ToList();
        Assert.Equal("langfuse-blob-parquet", SourceDetector.Detect(gzipped).Format.Name);
        Assert.Equal(plain, Parts(gzipped).Select(record => record.Part!.PartId).ToList());
        Assert.Equal(16, plain.Count);
    }

    [Fact]
    public void No_other_fixture_is_taken_for_a_langfuse_export()
    {
        var claimed = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Fixtures, "*", SearchOption.AllDirectories)
                     .Where(file => !file.Contains(Path.Combine("trace", "langfuse"), StringComparison.Ordinal)))
        {
            try
            {
                var format = SourceDetector.Detect(file).Format;
                if (format.SourceName == "langfuse")
                {
                    claimed.Add($"{Path.GetRelativePath(Fixtures, file)} → {format.Name}");
                }
            }
            catch (LoadException)
            {
                // Not recognised at all: not ours either.
            }
        }

        Assert.Empty(claimed);
    }

    [Fact]
    public void A_trace_line_without_the_api_fields_is_read_only_when_the_format_is_forced()
    {
        var path = _files.Write("one.jsonl", """{"id":"t-1","timestamp":"2025-06-03T10:00:00Z","name":"refund","metadata":{"customer_tier":"consumer"}}""" + "\n");

        Assert.Throws<LoadException>(() => SourceDetector.Detect(path));
        var forced = SourceDetector.Detect(path, "langfuse-api-jsonl");
        var parts = ((Warehouse.Traces.TracePartFormat)forced.Format).ReadParts(forced.File, new Warehouse.Traces.TraceRules("langfuse"), TestContext.Current.CancellationToken).ToList();

        var part = Assert.Single(parts).Part!;
        Assert.Equal(("t-1", "trace", "consumer"), (part.TraceId, part.PartId, part.Keys!["customer_tier"]));
    }
}

public sealed class LangfuseDuckDbTests : LangfuseSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class LangfusePostgresTests : LangfuseSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class LangfuseSqlServerTests : LangfuseSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
