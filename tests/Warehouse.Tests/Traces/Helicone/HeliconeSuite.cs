using Microsoft.Extensions.Configuration;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Traces.Helicone;

/// <summary>
/// Helicone request exports (`@helicone/export --format jsonl`) on every engine: requests grouped into
/// traces by a trace-id property, else the session, else alone; ClickHouse and ISO timestamps, quoted
/// numbers, lowercase property names, thumbs feedback in scores (and an older row's feedback_rating),
/// a later export that re-sends a request with changed feedback and adds one, and malformed rows.
/// </summary>
public abstract class HeliconeSuite : TraceSuite
{
    private static string File(string name) => Fixture("helicone", name);

    private const string T1 = "5d1e9a1f8b2d4e67a09c1b2d3e4f0001";
    private const string T2 = "5d1e9a1f8b2d4e67a09c1b2d3e4f0002";
    private const string Lone = "b2d5f8a1-6e3c-4b9d-9f2a-0c7e4a1d8b06";

    // T1: two model calls (tokens quoted) summed; keys from lowercase properties (customer-tier, prompt-version, context-tokens);
    // the app's tool-error property is a failed tool with a JSON parse failure; the thumbs-down (0) is a complaint.
    private const string RowT1 =
        $"helicone|{T1}|2025-06-10T09:00:01.030000|gpt-4o-2024-08-06|refund-v4|kb-retriever-2.3.0|guard-1.7|treatment|refund_summary|refund_request|en|consumer|unknown|<2k|4550|0.00775|2100|250|912|ECTJ-|lookup_order:json_parse|0|sess_a41";

    private static readonly string[] FirstExport =
    [
        RowT1,
        // T2: ISO timestamps, quoted status and cost; the model-version property wins over the request's alias; retrieved-docs 0.
        $"helicone|{T2}|2025-06-10T09:05:00.290000|gpt-4o-2024-08-06|refund-v3|kb-retriever-2.3.0|guard-1.7|control|refund_summary|contract_dispute|de|enterprise|unknown|<2k|2910|0.0054|956|301|0|----R|-|-|sess_b7",
        // No property names a trace: the request id is the trace; HTTP 429 with its body's error code; feedback_rating false.
        $"helicone|{Lone}|2025-06-10T09:20:00.000000|gpt-4o|unknown|unknown|unknown|unknown|unknown|unknown|unknown|unknown|unknown|unknown|150|0|-|-|-|EC---|rate_limit_exceeded|0|-",
        // No trace-id: the session groups two calls; the app's accuracy score is not user feedback, the thumbs-up is.
        "helicone|sess_c9|2025-06-10T09:10:00.200000|gpt-4o-mini-2024-07-18|refund-v4|unknown|unknown|unknown|refund_summary|unknown|en|consumer|unknown|unknown|1700|0.001436|520|70|-|-----|-|1|sess_c9",
    ];

    [Fact]
    public async Task Requests_group_into_traces_by_property_then_session_then_request()
    {
        var result = await LoadAsync(File("requests.jsonl"));

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal("helicone-requests-jsonl", result.Format);
        // 6 requests, 4 feedback scores, T1's tool and retrieval facts, T2's retrieval fact.
        Assert.Equal((13L, 13L, 0L, 4L), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsInserted));
        Assert.Equal(FirstExport.Order(StringComparer.Ordinal), await TraceLinesAsync());

        var rows = (await TraceRowsAsync()).ToDictionary(row => row.trace_id);
        Assert.Equal("Where is my refund for order A-7?", rows[Lone].input_preview);
        Assert.Contains("\"user_id\":\"cust_48213\"", rows[T1].attributes);
        Assert.Contains("\"root_name\":\"/turn/plan\"", rows[T1].attributes);
    }

    [Fact]
    public async Task A_later_export_updates_the_trace_with_its_new_request_and_changed_feedback()
    {
        await LoadAsync(File("requests.jsonl"));

        var later = await LoadAsync(File("requests-later.jsonl"));

        Assert.Equal(FileLoadStatus.Loaded, later.Status);
        Assert.Equal((0L, 1L), (later.RowsInserted, later.RowsUpdated));
        // The follow-up call extends T1 (latency, tokens, cost); the re-sent request's thumbs-up replaces its thumbs-down.
        Assert.Equal(FirstExport.Skip(1).Append(
                $"helicone|{T1}|2025-06-10T09:00:01.030000|gpt-4o-2024-08-06|refund-v4|kb-retriever-2.3.0|guard-1.7|treatment|refund_summary|refund_request|en|consumer|unknown|<2k|4970|0.0082|2200|270|912|E-TJ-|lookup_order:json_parse|1|sess_a41")
            .Order(StringComparer.Ordinal), await TraceLinesAsync());
        Assert.Equal(4, (await TraceRowsAsync()).Count);
    }

    /// <summary>
    /// Re-loading the latest state changes nothing. (Forcing the older export again after the later one would put the
    /// older copy of the re-sent request back: parts are kept as last loaded, whatever their updated_at.)
    /// </summary>
    [Fact]
    public async Task Reloading_changes_nothing()
    {
        await LoadAsync(File("requests.jsonl"));
        await AssertReloadChangesNothingAsync(File("requests.jsonl"));

        await LoadAsync(File("requests-later.jsonl"));
        await AssertReloadChangesNothingAsync(File("requests-later.jsonl"));
    }

    [Fact]
    public async Task Malformed_requests_are_rejected_one_by_one_and_good_ones_load()
    {
        var result = await LoadAsync(File("malformed.jsonl"));

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((9L, 1L, 8L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsInserted));
        var rejects = await RejectsAsync(result.BatchId!.Value);
        Assert.Equal([2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L], rejects.Select(reject => reject.RecordNumber));
        Assert.StartsWith("line is not valid JSON", rejects[0].Reason);
        Assert.Equal("the request has no request_id", rejects[1].Reason);
        Assert.Equal("request 7d000000-0000-4000-8000-000000000004: prompt_tokens 'many' is not a whole number", rejects[2].Reason);
        Assert.Equal("request 7d000000-0000-4000-8000-000000000005: request_created_at 'yesterday' is not a timestamp", rejects[3].Reason);
        Assert.Equal("request 7d000000-0000-4000-8000-000000000006: response_status 'OK' is not an HTTP status", rejects[4].Reason);
        Assert.Contains("score helicone-score-feedback is 5", rejects[5].Reason);
        Assert.Equal("line is a JSON string, not a request object", rejects[6].Reason);
        Assert.Equal("request 7d000000-0000-4000-8000-000000000009: property retrieved-docs 'none' is not a document count", rejects[7].Reason);
        Assert.Equal(
            ["helicone|6b4f2d0e8c6a4e2c9a7b5d3f1e0c0f01|2025-06-11T08:00:00.000000|gpt-4o-2024-08-06|unknown|unknown|unknown|unknown|unknown|unknown|unknown|consumer|unknown|unknown|1000|0.00035|100|10|-|-----|-|-|-"],
            await TraceLinesAsync());
    }

    [Fact]
    public async Task The_grouping_property_and_the_tool_and_retrieval_properties_are_configurable()
    {
        var settings = new SourceSettings(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:helicone:TraceProperty"] = "Helicone-Session-Id",
            ["Sources:helicone:ToolErrorProperty"] = "-",
            ["Sources:helicone:RetrievedDocsProperty"] = "-",
        }).Build());

        var result = await LoadAsync(File("requests.jsonl"), settings: settings);

        Assert.Equal(10L, result.RowsLoaded);
        var rows = await TraceRowsAsync();
        Assert.Equal([Lone, "sess_a41", "sess_b7", "sess_c9"], rows.Select(row => row.trace_id));
        Assert.Equal("-C---", rows.Single(row => row.trace_id == "sess_a41").Flags());
        Assert.Equal("-----", rows.Single(row => row.trace_id == "sess_b7").Flags());
    }

    [Fact]
    public async Task The_format_can_be_forced()
    {
        var copy = Path.Combine(Files.Folder, "export.log");
        System.IO.File.Copy(File("requests.jsonl"), copy);

        var result = await LoadAsync(copy, new LoadOptions(Format: "helicone-requests-jsonl"));

        Assert.Equal((FileLoadStatus.Loaded, "helicone-requests-jsonl", 4L), (result.Status, result.Format, result.RowsInserted));
    }
}

public sealed class HeliconeDuckDbTests : HeliconeSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class HeliconePostgresTests : HeliconeSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class HeliconeSqlServerTests : HeliconeSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
