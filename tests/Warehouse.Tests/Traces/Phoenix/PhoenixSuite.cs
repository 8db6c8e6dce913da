using Microsoft.Extensions.Configuration;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Traces.Phoenix;

/// <summary>
/// Phoenix exports on every engine: REST span pages (a JSON page, then a JSON Lines page that brings
/// a trace's root after its child), trace and span annotations arriving later, a re-annotation that
/// replaces the first, malformed spans and annotations, and the saved trace dataset as Parquet.
/// </summary>
public abstract class PhoenixSuite : TraceSuite
{
    public static string File(string name) => Fixture("phoenix", name);

    public const string T1 = "5c3e9a1f8b2d4e67a09c1b2d3e4f5a61";
    public const string T2 = "d41f7b2a9c6e4b08b1e2f3a4c5d6e7f8";
    public const string T3 = "8e2b6c4d1a3f4e5b9c7d0e1f2a3b2b49";
    public const string T4 = "0b4e7d2c9a1f4e3b8c6d5a4f3e2d1c0b";

    /// <summary>The four traces from both span pages, before any annotation.</summary>
    public static readonly string[] SpanRows =
    [
        // T1: the tool's JSONDecodeError (exception event) is a tool and a JSON parse failure; cost is the LLM span's llm.cost.total.
        $"phoenix|{T1}|2025-06-03T10:15:02.120000|gpt-4o-2024-08-06|refund-v4|kb-retriever-2.3.0|guard-1.7|treatment|refund_summary|refund_request|en|consumer|unknown|<2k|4870|0.0067275|1843|212|912|E-TJ-|JSONDecodeError|-|sess_9f2c1a77",
        // T2: the RETRIEVER span has no retrieval.documents.* keys; cost is llm.cost.prompt + llm.cost.completion.
        $"phoenix|{T2}|2025-06-03T10:17:45.500000|gpt-4o-2024-08-06|refund-v3|kb-retriever-2.3.0|guard-1.7|control|refund_summary|contract_dispute|de|enterprise|unknown|<2k|3210|0.0054|956|301|0|----R|-|-|sess_51e0b3d4",
        // T3: split over both pages; metadata as a JSON string; the response model (openai/…) over the request model;
        // the prompt version from llm.prompt_template.version; token counts written as strings.
        $"phoenix|{T3}|2025-06-03T10:21:10.000000|gpt-4o-2024-08-06|refund-v3|kb-retriever-2.3.0|guard-1.7|control|refund_summary|refund_request|en|consumer|unknown|<2k|2640|-|1402|188|640|-----|-|-|sess_c0e4a912",
        // T4: the AGENT root failed with a rate limit (exception type from its event); times with a +02:00 offset.
        $"phoenix|{T4}|2025-06-03T10:30:00.000000|gpt-4o-2024-08-06|refund-v4|unknown|unknown|unknown|unknown|unknown|unknown|smb|unknown|unknown|30050|-|-|-|-|E----|openai.RateLimitError|-|sess_aa01",
    ];

    /// <summary>Every file in: T1's thumbs-down (a complaint by its metadata), T2's span rating, T3's thumbs-up (its LLM judge's score is not user feedback).</summary>
    public static readonly string[] AllRows =
    [
        SpanRows[0].Replace("|E-TJ-|JSONDecodeError|-|", "|ECTJ-|JSONDecodeError|0|", StringComparison.Ordinal),
        SpanRows[1].Replace("|----R|-|-|", "|----R|-|0.25|", StringComparison.Ordinal),
        SpanRows[2].Replace("|-----|-|-|", "|-----|-|1|", StringComparison.Ordinal),
        SpanRows[3],
    ];

    private static readonly string[] InOrder = ["spans.json", "spans-page2.jsonl", "trace-annotations.json", "span-annotations.json"];

    private static List<string> Sorted(IEnumerable<string> lines) => lines.Order(StringComparer.Ordinal).ToList();

    [Fact]
    public async Task Span_pages_and_later_annotations_roll_up_to_one_row_per_trace()
    {
        var page1 = await LoadAsync(File("spans.json"));
        Assert.Equal(("phoenix-spans-json", FileLoadStatus.Loaded), (page1.Format, page1.Status));
        Assert.Equal((8L, 8L, 3L), (page1.RowsRead, page1.RowsLoaded, page1.RowsInserted));
        // T3 so far is only its model call: the call is its root until the real root arrives.
        var early = (await TraceRowsAsync()).Single(row => row.trace_id == T3);
        Assert.Equal((2300.0, 1402L), (early.latency_ms, early.input_tokens));
        Assert.Null(early.input_preview);

        var page2 = await LoadAsync(File("spans-page2.jsonl"));
        Assert.Equal(("phoenix-spans-json", 4L, 1L, 1L), (page2.Format, page2.RowsLoaded, page2.RowsInserted, page2.RowsUpdated));
        Assert.Equal(Sorted(SpanRows), await TraceLinesAsync());

        var annotations = await LoadAsync(File("trace-annotations.json"));
        Assert.Equal(("phoenix-annotations-json", FileLoadStatus.Loaded), (annotations.Format, annotations.Status));
        // The annotation of a trace whose spans are not in yet waits for them.
        Assert.Equal(new TraceRollupCounts(3, 2, 1, 0), annotations.Traces);
        Assert.Equal((0L, 2L), (annotations.RowsInserted, annotations.RowsUpdated));

        var spanAnnotations = await LoadAsync(File("span-annotations.json"));
        Assert.Equal(("phoenix-annotations-json", FileLoadStatus.LoadedWithRejects), (spanAnnotations.Format, spanAnnotations.Status));
        Assert.Equal([(2L, "annotation U3BhbkFubm90YXRpb246MTA=: a span annotation without trace_id cannot be placed in its trace (export span annotations with their trace_id)")],
            await RejectsAsync(spanAnnotations.BatchId!.Value));

        Assert.Equal(Sorted(AllRows), await TraceLinesAsync());
        Assert.Equal(12L + 5L, await PartCountAsync("phoenix"));

        var t1 = (await TraceRowsAsync()).Single(row => row.trace_id == T1);
        Assert.Equal("I returned the blender two weeks ago (order A-99213). Where is my refund?", t1.input_preview);
        Assert.Contains("\"feedback_comment\":\"Bot said my refund was approved but the order page says it was rejected. Very frustrating.\"", t1.attributes);
        Assert.Contains("\"root_name\":\"refund_support_turn\"", t1.attributes);
        Assert.Contains("\"user_id\":\"cust_48213\"", t1.attributes);
        var t3 = (await TraceRowsAsync()).Single(row => row.trace_id == T3);
        Assert.Equal("Can I get a refund for a subscription I cancelled yesterday?", t3.input_preview);
        Assert.Contains("\"root_name\":\"refund_agent\"", t3.attributes);
    }

    [Fact]
    public async Task The_order_files_arrive_in_does_not_change_the_rows()
    {
        foreach (var name in InOrder.Reverse())
        {
            var result = await LoadAsync(File(name));
            Assert.NotEqual(FileLoadStatus.Failed, result.Status);
        }

        Assert.Equal(Sorted(AllRows), await TraceLinesAsync());
    }

    [Fact]
    public async Task Reloading_any_file_changes_nothing()
    {
        foreach (var name in InOrder)
        {
            await LoadAsync(File(name));
        }

        foreach (var name in InOrder)
        {
            await AssertReloadChangesNothingAsync(File(name));
        }

        Assert.Equal(17L, await PartCountAsync("phoenix"));
    }

    [Fact]
    public async Task A_later_annotation_of_the_same_trace_replaces_the_first_and_updates_the_row()
    {
        foreach (var name in InOrder)
        {
            await LoadAsync(File(name));
        }

        var later = await LoadAsync(File("trace-annotations-later.json"));

        Assert.Equal((0L, 1L), (later.RowsInserted, later.RowsUpdated));
        // Same annotation id: the thumbs-up replaces the thumbs-down, and its metadata says it is no complaint.
        Assert.Equal(Sorted([AllRows[0].Replace("|ECTJ-|JSONDecodeError|0|", "|E-TJ-|JSONDecodeError|1|", StringComparison.Ordinal), .. AllRows[1..]]),
            await TraceLinesAsync());
        Assert.Equal(17L, await PartCountAsync("phoenix"));
        Assert.Equal(4L, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));
    }

    [Fact]
    public async Task Malformed_span_lines_are_rejected_one_by_one_with_their_reason_while_good_spans_load()
    {
        var result = await LoadAsync(File("spans-malformed.jsonl"));

        Assert.Equal(("phoenix-spans-json", FileLoadStatus.LoadedWithRejects), (result.Format, result.Status));
        Assert.Equal((8L, 1L, 7L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsInserted));
        var rejects = await RejectsAsync(result.BatchId!.Value);
        Assert.Collection(rejects,
            reject => Assert.StartsWith("line 2 is not valid JSON", reject.Reason),
            reject => Assert.Equal((3L, "span 6d6d6d6d6d6d6d6d: context.trace_id is empty"), reject),
            reject => Assert.Equal((4L, "span 6e6e 6e6e: context.span_id '6e6e 6e6e' is not an id (too long, or it contains spaces or control characters)"), reject),
            reject => Assert.Equal((5L, "span 6f6f6f6f6f6f6f6f: llm.token_count.prompt 'lots' is not a number"), reject),
            reject => Assert.Equal((6L, "span 7a7a7a7a7a7a7a7a: start_time 'yesterday' is not a timestamp"), reject),
            reject => Assert.Equal((7L, "span 7b7b7b7b7b7b7b7b: context.trace_id is 12.5, not an id"), reject),
            reject => Assert.Equal((8L, "the item is a JSON array, not an object"), reject));
        Assert.Equal(["phoenix|6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a|2025-06-05T09:00:00.000000|gpt-4o-mini-2024-07-18|unknown|unknown|unknown|unknown|unknown|unknown|unknown|consumer|unknown|unknown|1500|-|100|20|-|-----|-|-|-"],
            await TraceLinesAsync());
        var raw = await ScalarAsync<string>("select raw_record from etl.rejected_records where reason like '%lots%'");
        Assert.Contains("\"lots\"", raw);
    }

    [Fact]
    public async Task Malformed_annotations_are_rejected_one_by_one_while_good_ones_count()
    {
        await LoadAsync(File("spans-malformed.jsonl"));

        var result = await LoadAsync(File("annotations-malformed.json"));

        Assert.Equal(("phoenix-annotations-json", FileLoadStatus.LoadedWithRejects), (result.Format, result.Status));
        Assert.Equal([
                (1L, "annotation QmFkOjE=: result.score 'high' is not a number"),
                (2L, "annotation QmFkOjI=: updated_at 'soon' is not a timestamp"),
                (3L, "annotation QmFkOjM=: the annotation has no trace_id"),
            ],
            await RejectsAsync(result.BatchId!.Value));
        var row = (await TraceRowsAsync()).Single();
        Assert.Equal((0.0, true), (row.feedback_score, row.has_complaint));
    }

    [Fact]
    public async Task A_span_page_cut_off_inside_its_data_array_fails_the_file_and_loads_nothing()
    {
        var text = System.IO.File.ReadAllText(File("spans.json"));
        var cut = Files.Write("spans-cut.json", text[..(text.Length / 2)]);

        var result = await LoadAsync(cut);

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("spans-cut.json", result.Message);
        Assert.Empty(await TraceRowsAsync());
    }

    [Fact]
    public async Task A_bare_array_of_spans_loads_like_the_page()
    {
        var page = System.Text.Json.JsonDocument.Parse(System.IO.File.ReadAllText(File("spans.json")));
        var bare = Files.Write("spans-array.json", page.RootElement.GetProperty("data").GetRawText());

        var result = await LoadAsync(bare);
        await LoadAsync(File("spans-page2.jsonl"));

        Assert.Equal(("phoenix-spans-json", 8L), (result.Format, result.RowsLoaded));
        Assert.Equal(Sorted(SpanRows), await TraceLinesAsync());
    }

    [Fact]
    public async Task A_forced_format_reads_a_file_named_otherwise()
    {
        var renamed = Files.Write("export.txt", System.IO.File.ReadAllText(File("trace-annotations.json")));
        await LoadAsync(File("spans.json"));

        var result = await LoadAsync(renamed, new LoadOptions(Format: "phoenix-annotations-json"));

        Assert.Equal(("phoenix-annotations-json", 4L), (result.Format, result.RowsLoaded));
    }

    [Fact]
    public async Task Keys_can_be_read_from_other_attributes_by_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:phoenix:Keys:customer_tier:0"] = "user.id",
            ["Sources:phoenix:Keys:prompt_version:0"] = "metadata.experiment_id",
        }).Build();

        await LoadAsync(File("spans.json"), settings: new SourceSettings(configuration));

        var row = (await TraceRowsAsync()).Single(trace => trace.trace_id == T1);
        Assert.Equal(("cust_48213", "refund_prompt_v4_rollout"), (row.customer_tier, row.prompt_version));
    }

    [Fact]
    public async Task The_saved_trace_dataset_as_parquet_loads_the_rows_of_the_json_spans()
    {
        var parquet = await PhoenixParquet.WriteAsync(Files.Folder, nested: false, File("spans.json"), File("spans-page2.jsonl"));

        Assert.Equal("phoenix-trace-dataset-parquet", SourceDetector.Detect(parquet).Format.Name);
        var result = await LoadAsync(parquet);

        Assert.Equal(("phoenix-trace-dataset-parquet", FileLoadStatus.Loaded, 12L), (result.Format, result.Status, result.RowsLoaded));
        Assert.Equal(Sorted(SpanRows), await TraceLinesAsync());
        await AssertReloadChangesNothingAsync(parquet);

        // The JSON spans of the same traces meet the Parquet's parts: nothing changes, nothing is added.
        var before = await QueryAsync<string>("select attributes from quality.trace_summaries order by trace_id");
        var partsBefore = await QueryAsync<string>("select part_id || ' ' || body from etl.trace_parts order by trace_id, part_id");
        var json = await LoadAsync(File("spans.json"));
        var partsAfter = await QueryAsync<string>("select part_id || ' ' || body from etl.trace_parts order by trace_id, part_id");
        Assert.Equal(partsBefore, partsAfter);
        var jsonLines = await LoadAsync(File("spans-page2.jsonl"));
        Assert.Equal((0L, 0L, 0L, 0L), (json.RowsInserted, json.RowsUpdated, jsonLines.RowsInserted, jsonLines.RowsUpdated));
        Assert.Equal(before, await QueryAsync<string>("select attributes from quality.trace_summaries order by trace_id"));
        Assert.Equal(12L, await PartCountAsync("phoenix"));
    }

    [Fact]
    public async Task A_trace_dataset_with_struct_and_list_columns_loads_the_same_rows()
    {
        var parquet = await PhoenixParquet.WriteAsync(Files.Folder, nested: true, File("spans.json"), File("spans-page2.jsonl"));
        await using (var stream = System.IO.File.OpenRead(parquet))
        {
            // As pandas writes dicts and lists: struct and list columns, which the flat table reader refuses.
            var schema = await Parquet.ParquetReader.ReadSchemaAsync(stream);
            Assert.Contains(schema.Fields, field => field.Name == "attributes.metadata" && field.SchemaType == Parquet.Schema.SchemaType.Struct);
            Assert.Contains(schema.Fields, field => field.Name == "events" && field.SchemaType == Parquet.Schema.SchemaType.List);
            Assert.Contains(schema.Fields, field => field.Name == "attributes.retrieval.documents" && field.SchemaType == Parquet.Schema.SchemaType.List);
        }

        var result = await LoadAsync(parquet);

        Assert.True(result.Status == FileLoadStatus.Loaded, result.Message);
        Assert.Equal(("phoenix-trace-dataset-parquet", 12L), (result.Format, result.RowsLoaded));
        Assert.Equal(Sorted(SpanRows), await TraceLinesAsync());
    }
}

public sealed class PhoenixDuckDbTests : PhoenixSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class PhoenixPostgresTests : PhoenixSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class PhoenixSqlServerTests : PhoenixSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
