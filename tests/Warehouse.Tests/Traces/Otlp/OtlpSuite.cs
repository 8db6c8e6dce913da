using Microsoft.Extensions.Configuration;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Traces.Otlp;

/// <summary>
/// OTLP/JSON from a collector's file exporter on every engine: spans of one trace over several
/// lines and files (roots after their children), old and new GenAI names, OpenInference
/// attributes, parent spans repeating their children's token totals, and feedback as
/// `gen_ai.evaluation.result` log events in later files.
/// </summary>
public abstract class OtlpSuite : TraceSuite
{
    private static string File(string name) => Fixture("otlp", name);

    private const string T1 = "5c3e9a1f8b2d4e67a09c1b2d3e4f5a61";
    private const string T2 = "d41f7b2a9c6e4b08b1e2f3a4c5d6e7f8";
    private const string T3 = "8e2b6c4d1a3f4e5b9c7d0e1f2a3b2b49";
    private const string T4 = "0af7651916cd43dd8448eb211c80319c";

    /// <summary>All four traces once every file is in.</summary>
    public static readonly string[] ExpectedRows =
    [
        // T4: the only model call timed out; the root's status is fine, the trace is still an error.
        $"otlp|{T4}|2025-11-26T10:00:00.000000|gpt-4o-2024-08-06|refund-v4|unknown|unknown|unknown|unknown|unknown|unknown|smb|unknown|unknown|30050|-|-|-|-|E----|timeout|-|-",
        // T1: ids upper-case in the file, lower-cased; tokens are the two chat calls (1843+2100, 212+180), not the agent's repeated totals;
        // the tool's JSONDecodeError is a tool and a JSON parse failure; the thumbs-down with its complaint flag arrived in a logs file.
        $"otlp|{T1}|2025-11-26T10:00:00.000000|gpt-4o-2024-08-06|refund-v4|kb-retriever-2.3.0|guard-1.7|treatment|refund_summary|refund_request|en|consumer|json|<2k|6100|-|3943|392|1650|ECTJ-|json.decoder.JSONDecodeError|0|sess_9f2c1a77",
        // T3: OpenInference (metadata JSON string, llm.* tokens and cost, a RETRIEVER span with no documents); the LLM judge's
        // relevance score is not user feedback, the thumbs-up is.
        $"otlp|{T3}|2025-11-26T10:00:00.000000|gpt-4o-mini-2024-07-18|refund-v3|unknown|unknown|control|refund_summary|refund_request|en|consumer|unknown|<2k|2400|0.000159|700|90|700|----R|-|1|sess_77aa",
        // T2: an older pod (gen_ai.system, prompt/completion_tokens as JSON numbers); tier and language from the resource,
        // the rest from langfuse.trace.metadata.*; empty retrieval; the complaint came hours later.
        $"otlp|{T2}|2025-11-26T10:00:00.000000|gpt-4o-2024-08-06|refund-v3|unknown|unknown|control|refund_summary|contract_dispute|de|enterprise|unknown|8k-32k|3210.5|-|956|301|12800|-C--R|-|0.25|sess_51e0b3d4",
    ];

    private static readonly string[] InOrder =
        ["collector-0001.jsonl", "collector-0002.jsonl", "feedback-0001.logs.jsonl", "feedback-0002.logs.jsonl"];

    [Fact]
    public async Task Spans_split_over_lines_and_files_and_feedback_in_later_files_roll_up_to_one_row_per_trace()
    {
        var first = await LoadAsync(File("collector-0001.jsonl"));
        Assert.Equal(FileLoadStatus.Loaded, first.Status);
        Assert.Equal("otlp-traces-jsonl", first.Format);
        Assert.Equal((9L, 9L, 0L, 4L), (first.RowsRead, first.RowsLoaded, first.RowsRejected, first.RowsInserted));

        // T1's second model call and T3's model call are still to come.
        var early = (await TraceRowsAsync()).ToDictionary(row => row.trace_id);
        Assert.Equal((1843L, 212L), (early[T1].input_tokens, early[T1].output_tokens));
        Assert.Null(early[T3].input_tokens);
        Assert.Equal("unknown", early[T3].model_version);

        var second = await LoadAsync(File("collector-0002.jsonl"));
        Assert.Equal((3L, 0L, 2L), (second.RowsLoaded, second.RowsInserted, second.RowsUpdated));
        var feedback = await LoadAsync(File("feedback-0001.logs.jsonl"));
        Assert.Equal("otlp-logs-jsonl", feedback.Format);
        // The plain log record is passed over; the two traces with feedback are rolled up again.
        Assert.Equal((3L, 0L, 2L), (feedback.RowsLoaded, feedback.RowsInserted, feedback.RowsUpdated));
        var late = await LoadAsync(File("feedback-0002.logs.jsonl"));
        Assert.Equal((0L, 1L), (late.RowsInserted, late.RowsUpdated));
        Assert.Equal(new TraceRollupCounts(2, 2, 0, 0), late.Traces);

        Assert.Equal(ExpectedRows.Order(StringComparer.Ordinal).ToList(), await TraceLinesAsync());
        Assert.Equal(16L, await PartCountAsync("otlp"));
        Assert.Equal(4L, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));
    }

    [Fact]
    public async Task The_order_files_arrive_in_does_not_change_the_rows()
    {
        foreach (var name in InOrder.Reverse())
        {
            var result = await LoadAsync(File(name));
            Assert.True(result.Status == FileLoadStatus.Loaded, result.Message);
        }

        Assert.Equal(ExpectedRows.Order(StringComparer.Ordinal).ToList(), await TraceLinesAsync());
    }

    [Fact]
    public async Task Feedback_for_a_trace_not_seen_yet_waits_for_its_spans()
    {
        var feedback = await LoadAsync(File("feedback-0002.logs.jsonl"));

        Assert.Equal(FileLoadStatus.Loaded, feedback.Status);
        Assert.Equal(new TraceRollupCounts(2, 0, 2, 0), feedback.Traces);
        Assert.Empty(await TraceRowsAsync());
        Assert.Equal(2L, await PartCountAsync("otlp"));
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

        Assert.Equal(16L, await PartCountAsync("otlp"));
    }

    [Fact]
    public async Task Rolled_up_in_ranges_of_one_trace_the_rows_are_the_same_whatever_the_order()
    {
        // A big file is rolled up a range of trace ids at a time; here every trace is its own range,
        // and its earlier parts (other files) must meet it in its range.
        Loader.RollupPartsOverride.Value = 1;
        foreach (var name in InOrder.Reverse())
        {
            var result = await LoadAsync(File(name));
            Assert.True(result.Status == FileLoadStatus.Loaded, result.Message);
        }

        Assert.Equal(ExpectedRows.Order(StringComparer.Ordinal).ToList(), await TraceLinesAsync());
        foreach (var name in InOrder)
        {
            await AssertReloadChangesNothingAsync(File(name));
        }

        Assert.Equal(ExpectedRows.Order(StringComparer.Ordinal).ToList(), await TraceLinesAsync());
        Assert.Equal(16L, await PartCountAsync("otlp"));
    }

    [Fact]
    public async Task A_first_file_that_brings_a_span_twice_keeps_the_later_copy()
    {
        // The first load of the source (appended straight into the tables on DuckDB): the same span on two lines, corrected.
        static string Line(string inputTokens) =>
            """{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[{"traceId":"d41f7b2a9c6e4b08b1e2f3a4c5d6e7f8","spanId":"2c3d4e5f60718293","name":"chat","startTimeUnixNano":"1764151200420000000","endTimeUnixNano":"1764151203150000000","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.response.model","value":{"stringValue":"gpt-4o-2024-08-06"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"""
            + "\"" + inputTokens + "\"" + """}}],"status":{}}]}]}]}""";
        var twice = Files.Write("collector-twice.jsonl", Line("900") + "\n" + Line("960") + "\n");

        var result = await LoadAsync(twice);

        Assert.Equal((2L, 2L, 0L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsInserted));
        Assert.Equal(960L, (await TraceRowsAsync()).Single(trace => trace.trace_id == T2).input_tokens);
        Assert.Equal(1L, await PartCountAsync("otlp"));
        Assert.Contains("\"InputTokens\":960", await ScalarAsync<string>("select body from etl.trace_parts"));

        // A second file of the source goes through staging and sees the stored part.
        var result2 = await LoadAsync(Files.Write("collector-again.jsonl", Line("970") + "\n"));
        Assert.Equal((0L, 1L), (result2.RowsInserted, result2.RowsUpdated));
        Assert.Equal(970L, (await TraceRowsAsync()).Single(trace => trace.trace_id == T2).input_tokens);
        Assert.Equal(1L, await PartCountAsync("otlp"));
    }

    [Fact]
    public async Task A_later_export_of_the_same_span_replaces_it_and_updates_the_trace()
    {
        foreach (var name in InOrder)
        {
            await LoadAsync(File(name));
        }

        // The collector exports T2's chat span again with corrected usage.
        var again = Files.Write("collector-0003.jsonl",
            """{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[{"traceId":"d41f7b2a9c6e4b08b1e2f3a4c5d6e7f8","spanId":"2c3d4e5f60718293","parentSpanId":"9a8b7c6d5e4f3a2b","name":"chat","startTimeUnixNano":"1764151200420000000","endTimeUnixNano":"1764151203150000000","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.response.model","value":{"stringValue":"gpt-4o-2024-08-06"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"960"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":"305"}}],"status":{}}]}]}]}""" + "\n");
        var result = await LoadAsync(again);

        Assert.Equal((0L, 1L), (result.RowsInserted, result.RowsUpdated));
        var row = (await TraceRowsAsync()).Single(trace => trace.trace_id == T2);
        Assert.Equal((960L, 305L), (row.input_tokens, row.output_tokens));
        Assert.True(row.has_complaint);
        Assert.Equal(4L, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));
        Assert.Equal(16L, await PartCountAsync("otlp"));
    }

    private static string SpanLine(string traceId, string spanId, string band) =>
        $$$"""{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[{"traceId":"{{{traceId}}}","spanId":"{{{spanId}}}","name":"turn","startTimeUnixNano":"1764151200000000000","endTimeUnixNano":"1764151201000000000","attributes":[{"key":"app.context_band","value":{"stringValue":"{{{band}}}"}}],"status":{}}]}]}]}""";

    [Fact]
    public async Task A_trace_whose_rolled_up_row_the_table_refuses_is_rejected_as_a_trace_and_a_later_file_can_mend_it()
    {
        // The roll-up, not the span, is what the table refuses: a context band that is not a band.
        var file = Files.Write("collector-bands.jsonl", string.Join("\n",
            SpanLine(T1, "1111111111111111", "<2k"), SpanLine(T2, "2222222222222222", "huge"), SpanLine(T3, "3333333333333333", "8k-32k")) + "\n");
        var result = await LoadAsync(file);

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((3L, 3L, 1L, 2L), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsInserted));
        var reject = Assert.Single(await RejectsAsync(result.BatchId!.Value));
        Assert.Equal(0L, reject.RecordNumber);
        Assert.StartsWith($"trace {T2}: context_band 'huge' is not one of ", reject.Reason);
        Assert.Contains("\"huge\"", await ScalarAsync<string>("select raw_record from etl.rejected_records"));
        Assert.Equal([T3, T1], (await TraceRowsAsync()).OrderBy(row => row.context_band, StringComparer.Ordinal).Select(row => row.trace_id));
        // Every part is kept, the refused trace's too: a later export of its span rolls it up.
        Assert.Equal(3L, await PartCountAsync("otlp"));

        var mended = await LoadAsync(Files.Write("collector-bands-2.jsonl", SpanLine(T2, "2222222222222222", "2k-8k") + "\n"));
        Assert.Equal((FileLoadStatus.Loaded, 1L, 0L), (mended.Status, mended.RowsInserted, mended.RowsRejected));
        Assert.Equal("2k-8k", (await TraceRowsAsync()).Single(row => row.trace_id == T2).context_band);
    }

    [Fact]
    public async Task Malformed_spans_and_lines_are_rejected_one_by_one_with_their_reason_while_good_traces_load()
    {
        var result = await LoadAsync(File("malformed.jsonl"));

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((8L, 2L, 6L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsInserted));
        var rejects = await RejectsAsync(result.BatchId!.Value);
        Assert.Collection(rejects,
            reject => Assert.Equal((1L, "resourceSpans[0].scopeSpans[0].spans[1]: traceId 'not-a-trace-id' is not 32 hex digits"), reject),
            reject => Assert.Equal((1L, "resourceSpans[0].scopeSpans[0].spans[2]: spanId 'xyz' is not 16 hex digits"), reject),
            reject => Assert.Equal((1L, "resourceSpans[0].scopeSpans[0].spans[3] (span 0304050607080910 of trace 1234567890abcdef1234567890abcdef): input tokens 'lots' is not a count"), reject),
            reject => Assert.Equal((1L, "resourceSpans[0].scopeSpans[0].spans[4]: startTimeUnixNano '2025-11-26T10:00:00Z' is not a count of nanoseconds"), reject),
            reject => Assert.StartsWith("the line is not valid JSON", reject.Reason),
            reject => Assert.Equal(3L, reject.RecordNumber));
        Assert.Equal(["otlp|1234567890abcdef1234567890abcdef|2025-11-26T10:00:00.000000|gpt-4o-2024-08-06|unknown|unknown|unknown|unknown|unknown|unknown|unknown|consumer|unknown|unknown|1000|-|100|20|-|-----|-|-|-"],
            await TraceLinesAsync());
        // The raw span is kept as evidence.
        var raw = await ScalarAsync<string>("select raw_record from etl.rejected_records where reason like '%is not a count%'");
        Assert.Contains("\"lots\"", raw);
    }

    [Fact]
    public async Task Keys_can_be_read_from_other_attributes_by_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:otlp:Keys:customer_tier:0"] = "user.id",
            ["Sources:otlp:Keys:prompt_version"] = "gen_ai.agent.name",
        }).Build();

        await LoadAsync(File("collector-0001.jsonl"), settings: new SourceSettings(configuration));

        var row = (await TraceRowsAsync()).Single(trace => trace.trace_id == T1);
        Assert.Equal(("cust_48213", "refund-support-bot"), (row.customer_tier, row.prompt_version));
    }

    [Fact]
    public async Task Model_calls_without_a_reported_cost_are_priced_from_the_configured_price_table()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:otlp:Prices:gpt-4o-2024-08-06:InputPerMillion"] = "2.50",
            ["Sources:otlp:Prices:gpt-4o-2024-08-06:OutputPerMillion"] = "10",
            ["Sources:otlp:Prices:gpt-4o-mini-2024-07-18:InputPerMillion"] = "0.15",
            ["Sources:otlp:Prices:gpt-4o-mini-2024-07-18:OutputPerMillion"] = "0.60",
        }).Build();
        var settings = new SourceSettings(configuration);

        await LoadAsync(File("collector-0001.jsonl"), settings: settings);
        await LoadAsync(File("collector-0002.jsonl"), settings: settings);

        var rows = (await TraceRowsAsync()).ToDictionary(row => row.trace_id);
        // T1: two calls, 3943 input and 392 output tokens at 2.50 / 10 USD per million; the agent span's repeated totals are not priced.
        Assert.Equal(0.0137775, rows[T1].cost_usd!.Value, 12);
        Assert.Contains("\"cost_source\":\"computed\"", rows[T1].attributes);
        // T3 reports llm.cost.total: the reported cost stands.
        Assert.Equal(0.000159, rows[T3].cost_usd!.Value, 12);
        Assert.DoesNotContain("cost_source", rows[T3].attributes);
        // T4's call has no token counts: nothing to price.
        Assert.Null(rows[T4].cost_usd);
    }

    [Fact]
    public async Task A_price_that_is_not_a_number_fails_the_file_with_the_setting_named()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:otlp:Prices:gpt-4o-2024-08-06:InputPerMillion"] = "cheap",
        }).Build();

        var result = await LoadAsync(File("collector-0001.jsonl"), settings: new SourceSettings(configuration));

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("Sources:otlp:Prices:gpt-4o-2024-08-06:InputPerMillion", result.Message);
        Assert.Empty(await TraceRowsAsync());
    }

    [Fact]
    public async Task A_logs_file_without_feedback_events_loads_as_nothing_to_do()
    {
        var plain = Files.Write("app.logs.jsonl",
            """{"resourceLogs":[{"resource":{"attributes":[]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1764151200000000000","body":{"stringValue":"hello"}}]}]}]}""" + "\n");

        var result = await LoadAsync(plain);

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal((0L, 0L), (result.RowsRead, result.RowsInserted));
    }

    [Fact]
    public async Task A_gzipped_collector_file_loads_like_the_plain_one()
    {
        var gzipped = System.IO.Path.Combine(Files.Folder, "collector-0001.jsonl.gz");
        await using (var output = System.IO.File.Create(gzipped))
        await using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest))
        await using (var input = System.IO.File.OpenRead(File("collector-0001.jsonl")))
        {
            await input.CopyToAsync(gzip, Token);
        }

        var result = await LoadAsync(gzipped);

        Assert.Equal(("otlp-traces-jsonl", 4L), (result.Format, result.RowsInserted));
    }
}

public sealed class OtlpDuckDbTests : OtlpSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class OtlpPostgresTests : OtlpSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class OtlpSqlServerTests : OtlpSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
