using Microsoft.Extensions.Configuration;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Traces.Opik;

/// <summary>
/// Opik exports on every engine: a `GET /v1/private/traces` page and a JSON Lines page of traces
/// (totals, duration, error_info, metadata, tags, feedback scores already rolled up by Opik), the
/// trace's spans from `search_spans` (a tool span's JSON decode error), a later export of a trace
/// with its feedback changed, and malformed traces.
/// </summary>
public abstract class OpikSuite : TraceSuite
{
    public static string File(string name) => Fixture("opik", name);

    public const string T1 = "01973549-8ce8-7a10-b3c4-9d2e6f1a5b01";
    public const string T2 = "0197354c-0b1c-7b21-a4d5-8e3f7a2b6c12";
    public const string T3 = "0197354f-29f0-7c32-95e6-7f4a8b3c7d23";
    public const string T4 = "0197355a-1f2e-7d43-a6b7-8c9d0e1f2a34";

    /// <summary>The four traces from both trace pages.</summary>
    public static readonly string[] TraceRows =
    [
        // T1: usage and total_estimated_cost cover the trace; the model from metadata.model; the thumbs-down is a complaint.
        $"opik|{T1}|2025-06-03T10:15:02.120000|gpt-4o-2024-08-06|refund-v4|kb-retriever-2.3.0|guard-1.7|treatment|refund_summary|refund_request|en|consumer|unknown|<2k|4870|0.0067275|1843|212|912|-C---|-|0|sess_9f2c1a77",
        // T2: the cost written as a string; no feedback.
        $"opik|{T2}|2025-06-03T10:17:45.500000|gpt-4o-2024-08-06|refund-v3|kb-retriever-2.3.0|guard-1.7|control|refund_summary|contract_dispute|de|enterprise|unknown|<2k|3210|0.0054|956|301|0|-----|-|-|sess_51e0b3d4",
        // T3: from the JSON Lines page; a thumbs-up.
        $"opik|{T3}|2025-06-03T10:21:10.000000|gpt-4o-2024-08-06|refund-v3|kb-retriever-2.3.0|guard-1.7|control|refund_summary|refund_request|en|consumer|unknown|<2k|2640|0.005385|1402|188|640|-----|-|1|sess_c0e4a912",
        // T4: error_info on the trace; usage as input/output_tokens; no duration (end − start, nanosecond times cut to 100 ns);
        // the tier from a `customer_tier:smb` tag; the LLM judge's hallucination score is not user feedback.
        $"opik|{T4}|2025-06-03T10:30:00.000000|gpt-4o-2024-08-06|refund-v4|unknown|unknown|treatment|refund_summary|refund_request|en|smb|unknown|unknown|30050.1234|0.00375|1500|0|-|E----|RateLimitError|-|sess_aa01",
    ];

    /// <summary>With T1's spans: its tool span failed on a JSON decode error (the trace's own error_info is null).</summary>
    public static readonly string[] WithSpans =
    [
        TraceRows[0].Replace("|-C---|-|0|", "|ECTJ-|JSONDecodeError|0|", StringComparison.Ordinal),
        .. TraceRows[1..],
    ];

    private static readonly string[] InOrder = ["traces.json", "traces-page2.jsonl", "spans.json"];

    private static List<string> Sorted(IEnumerable<string> lines) => lines.Order(StringComparer.Ordinal).ToList();

    [Fact]
    public async Task Trace_pages_and_spans_roll_up_to_one_row_per_trace()
    {
        var page1 = await LoadAsync(File("traces.json"));
        Assert.Equal(("opik-traces-json", FileLoadStatus.Loaded), (page1.Format, page1.Status));
        // Three traces and two feedback scores.
        Assert.Equal((5L, 5L, 3L), (page1.RowsRead, page1.RowsLoaded, page1.RowsInserted));
        var page2 = await LoadAsync(File("traces-page2.jsonl"));
        Assert.Equal(("opik-traces-json", 2L, 1L), (page2.Format, page2.RowsLoaded, page2.RowsInserted));
        Assert.Equal(Sorted(TraceRows), await TraceLinesAsync());

        var spans = await LoadAsync(File("spans.json"));
        Assert.Equal(("opik-spans-json", 3L, 0L, 1L), (spans.Format, spans.RowsLoaded, spans.RowsInserted, spans.RowsUpdated));
        Assert.Equal(Sorted(WithSpans), await TraceLinesAsync());
        Assert.Equal(4L + 3L + 3L, await PartCountAsync("opik"));

        var t1 = (await TraceRowsAsync()).Single(row => row.trace_id == T1);
        Assert.Equal("I returned the blender two weeks ago (order A-99213). Where is my refund?", t1.input_preview);
        Assert.Contains("\"feedback_comment\":\"Bot said my refund was approved but the order page says it was rejected. Very frustrating.\"", t1.attributes);
        Assert.Contains("\"span_count\":3", t1.attributes);
        var t4 = (await TraceRowsAsync()).Single(row => row.trace_id == T4);
        Assert.Equal("Where is my refund for order B-10021?", t4.input_preview);
    }

    [Fact]
    public async Task Spans_before_their_trace_roll_up_alone_and_the_trace_record_then_takes_over()
    {
        var spans = await LoadAsync(File("spans.json"));
        Assert.Equal(new TraceRollupCounts(1, 1, 0, 0), spans.Traces);
        // From spans alone: the model call's tokens, cost and model; the spans' metadata names only the feature.
        Assert.Equal([$"opik|{T1}|2025-06-03T10:15:02.120000|gpt-4o-2024-08-06|unknown|unknown|unknown|unknown|refund_summary|unknown|unknown|unknown|unknown|unknown|4870|0.0067275|1843|212|-|E-TJ-|JSONDecodeError|-|-"],
            await TraceLinesAsync());

        foreach (var name in InOrder.Take(2).Reverse())
        {
            await LoadAsync(File(name));
        }

        Assert.Equal(Sorted(WithSpans), await TraceLinesAsync());
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

        Assert.Equal(10L, await PartCountAsync("opik"));
    }

    [Fact]
    public async Task A_later_export_of_a_trace_updates_its_row_and_never_duplicates_it()
    {
        foreach (var name in InOrder)
        {
            await LoadAsync(File(name));
        }

        var later = await LoadAsync(File("traces-later.json"));

        Assert.Equal((0L, 1L), (later.RowsInserted, later.RowsUpdated));
        // The user changed the thumbs-down to a thumbs-up: same score name, so it replaces the first.
        Assert.Equal(Sorted([WithSpans[0].Replace("|ECTJ-|JSONDecodeError|0|", "|E-TJ-|JSONDecodeError|1|", StringComparison.Ordinal), .. WithSpans[1..]]),
            await TraceLinesAsync());
        Assert.Equal(10L, await PartCountAsync("opik"));
        Assert.Equal(4L, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));
        var t1 = (await TraceRowsAsync()).Single(row => row.trace_id == T1);
        Assert.Contains("\"source_updated_at\":\"2025-06-04T08:02:11.0000000Z\"", t1.attributes);
    }

    [Fact]
    public async Task Malformed_traces_are_rejected_one_by_one_with_their_reason_while_good_ones_load()
    {
        var result = await LoadAsync(File("traces-malformed.jsonl"));

        Assert.Equal(("opik-traces-json", FileLoadStatus.LoadedWithRejects), (result.Format, result.Status));
        Assert.Equal((9L, 2L, 7L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsInserted));
        var rejects = await RejectsAsync(result.BatchId!.Value);
        Assert.Collection(rejects,
            reject => Assert.Equal((1L, "trace 0197356b-0000-7000-8000-000000000007: feedback score 1 (user_feedback): value 'high' is not a number"), reject),
            reject => Assert.StartsWith("line 2 is not valid JSON", reject.Reason),
            reject => Assert.Equal((3L, "trace 42.5: id is 42.5, not an id"), reject),
            reject => Assert.Equal((4L, "id is empty"), reject),
            reject => Assert.Equal((5L, "trace 0197356b-0000-7000-8000-000000000009: duration 'fast' is not a number"), reject),
            reject => Assert.Equal((6L, "trace 0197356b-0000-7000-8000-00000000000a: start_time '2025-13-45T00:00:00Z' is not a timestamp"), reject),
            reject => Assert.Equal((7L, "trace 0197356b-0000-7000-8000-00000000000b: usage.prompt_tokens 12.5 is not a whole number of tokens"), reject));
        // The good trace keeps its other feedback score.
        Assert.Equal(["opik|0197356b-0000-7000-8000-000000000007|2025-06-05T09:00:00.000000|unknown|unknown|unknown|unknown|unknown|unknown|unknown|unknown|consumer|unknown|unknown|1500|0.00045|100|20|-|-----|-|0.5|-"],
            await TraceLinesAsync());
    }

    [Fact]
    public async Task A_bare_array_of_traces_loads_like_the_page()
    {
        var page = System.Text.Json.JsonDocument.Parse(System.IO.File.ReadAllText(File("traces.json")));
        var bare = Files.Write("traces-array.json", page.RootElement.GetProperty("content").GetRawText());

        var result = await LoadAsync(bare);
        await LoadAsync(File("traces-page2.jsonl"));

        Assert.Equal(("opik-traces-json", 5L), (result.Format, result.RowsLoaded));
        Assert.Equal(Sorted(TraceRows), await TraceLinesAsync());
    }

    [Fact]
    public async Task A_forced_format_reads_a_file_named_otherwise()
    {
        var renamed = Files.Write("export.txt", System.IO.File.ReadAllText(File("spans.json")));

        var result = await LoadAsync(renamed, new LoadOptions(Format: "opik-spans-json"));

        Assert.Equal(("opik-spans-json", 3L), (result.Format, result.RowsLoaded));
    }

    [Fact]
    public async Task A_page_cut_off_inside_its_content_fails_the_file_and_loads_nothing()
    {
        var text = System.IO.File.ReadAllText(File("traces.json"));
        var cut = Files.Write("traces-cut.json", text[..(text.Length / 2)]);

        var result = await LoadAsync(cut);

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("traces-cut.json", result.Message);
        Assert.Empty(await TraceRowsAsync());
    }

    [Fact]
    public async Task Keys_can_be_read_from_other_metadata_by_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:opik:Keys:customer_tier:0"] = "tags.customer_tier",
            ["Sources:opik:Keys:customer_tier:1"] = "metadata.intent",
        }).Build();

        await LoadAsync(File("traces.json"), settings: new SourceSettings(configuration));

        var rows = (await TraceRowsAsync()).ToDictionary(row => row.trace_id, row => row.customer_tier);
        Assert.Equal(("refund_request", "smb"), (rows[T1], rows[T4]));
    }
}

public sealed class OpikDuckDbTests : OpikSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class OpikPostgresTests : OpikSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class OpikSqlServerTests : OpikSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
