using System.IO.Compression;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Parquet;
using Parquet.Schema;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Traces.LangSmith;

/// <summary>
/// LangSmith production runs on every engine: legacy `list_runs` JSON Lines with chains that repeat
/// their children's totals, a trace whose root comes in a later export in the SmithDB `runs.query`
/// shape, feedback_stats on roots and individual feedback in a separate file, the bulk export's
/// Parquet, and malformed runs and feedback rejected record by record.
/// </summary>
public abstract class LangSmithTraceSuite : TraceSuite
{
    private static string File(string name) => Fixture("langsmith", name);

    private const string A = "01975a10-3c2e-7a41-9b2e-5b7d3f1e0a01";
    private const string B = "01975a15-0b1c-7f16-9d27-8a3e5c1b4f10";
    private const string C = "01975a1b-29f0-75ca-a95b-4d8f1e3c6b20";
    private const string D = "01975a20-7700-7b12-8d9f-7e4c1b8a5f30";
    private const string M = "01975b00-1111-7000-8000-00000000c001";

    // A: tokens and cost are the root's roll-up (2100/250/$0.00775), not root + agent chain + both model calls; the model
    // comes from the first model call; the tool's JSONDecodeError is a tool JSON failure; feedback_stats avg 0 is a complaint.
    private const string RowA =
        $"langsmith|{A}|2025-06-10T09:00:00.100000|gpt-4o-2024-08-06|refund-v4|kb-retriever-2.3.0|guard-1.7|treatment|refund_summary|refund_request|en|consumer|unknown|unknown|5500|0.00775|2100|250|-|ECTJ-|JSONDecodeError|0|thr_a41";

    // B: a Decimal cost and a token count as strings, naive timestamps; an empty retrieval; thread from conversation_id.
    private const string RowB =
        $"langsmith|{B}|2025-06-10T09:05:00.000000|gpt-4o-2024-08-06|refund-v3|kb-retriever-2.3.0|guard-1.7|control|refund_summary|contract_dispute|de|enterprise|unknown|unknown|3250|0.0054|956|301|-|----R|-|-|conv_b7";

    // C before its root arrives: the children's keys, the model call's tokens (the fallback), the children's time span.
    private const string RowCWithoutRoot =
        $"langsmith|{C}|2025-06-10T09:10:00.200000|gpt-4o-mini-2024-07-18|unknown|unknown|unknown|unknown|refund_summary|unknown|en|consumer|unknown|unknown|1200|0.0014|400|40|-|-----|-|-|thr_c9";

    /// <summary>Every trace once production.jsonl, production-later.jsonl and production.feedback.jsonl are in.</summary>
    public static readonly string[] ExpectedRows =
    [
        // A: the feedback file's thumbs-down (later than the stats) gives the score and comment.
        RowA,
        // B: exported again later with its user's feedback_stats; the online evaluator's correctness is not user feedback.
        RowB.Replace("|-|-|conv_b7", "|-|1|conv_b7", StringComparison.Ordinal),
        // C: the SmithDB root (top-level metadata, latency_seconds 1.5, thread_id) completes the keys; feedback on the
        // root's run_id (no trace_id) labelled thumbs_down is a complaint with no score.
        $"langsmith|{C}|2025-06-10T09:10:00.000000|gpt-4o-mini-2024-07-18|refund-v4|unknown|unknown|treatment|refund_summary|cancellation|en|consumer|unknown|unknown|1500|0.0014|400|40|-|-C---|-|-|thr_c9",
        // D: SmithDB shape only; status ERROR with a traceback → the exception class; the model from the failed LLM child.
        $"langsmith|{D}|2025-06-10T09:20:00.000000|gpt-4o-2024-08-06|refund-v4|unknown|unknown|unknown|refund_summary|refund_request|fr|consumer|unknown|unknown|800|-|-|-|-|E----|openai.RateLimitError|-|sess_d3",
    ];

    [Fact]
    public async Task Production_runs_roll_up_to_one_row_per_trace_from_the_root_runs_totals()
    {
        var result = await LoadAsync(File("production.jsonl"));

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal("langsmith-trace-runs-jsonl", result.Format);
        // 11 runs and A's feedback_stats part.
        Assert.Equal((12L, 12L, 0L, 3L), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsInserted));
        Assert.Equal(12L, await PartCountAsync("langsmith"));
        Assert.Equal(new[] { RowA, RowB, RowCWithoutRoot }.Order(StringComparer.Ordinal), await TraceLinesAsync());

        var rowA = (await TraceRowsAsync()).Single(row => row.trace_id == A);
        Assert.Equal($"https://smith.langchain.com/o/6d1f0a2e-0000-4000-8000-000000000001/projects/p/4c1d9e7a-2b3f-4e58-a6c0-8f2d1b3e7c90/r/{A}?trace_id={A}",
            rowA.trace_url);
        Assert.Equal("I returned the blender (order A-1182). Where is my refund?", rowA.input_preview);
        using var attributes = JsonDocument.Parse(rowA.attributes!);
        Assert.Equal(6, attributes.RootElement.GetProperty("span_count").GetInt32());
        Assert.Equal("support_turn", attributes.RootElement.GetProperty("root_name").GetString());
        Assert.Equal("4c1d9e7a-2b3f-4e58-a6c0-8f2d1b3e7c90", attributes.RootElement.GetProperty("project_id").GetString());
        Assert.Equal("It says approved but the order page says rejected.", attributes.RootElement.GetProperty("feedback_comment").GetString());

        var rowB = (await TraceRowsAsync()).Single(row => row.trace_id == B);
        Assert.Equal("Laut Rahmenvertrag RV-2024-118 steht uns eine Gutschrift zu.", rowB.input_preview);
    }

    [Fact]
    public async Task A_later_export_in_the_new_shape_and_a_feedback_file_update_the_same_rows_never_duplicate_them()
    {
        await LoadAsync(File("production.jsonl"));

        var later = await LoadAsync(File("production-later.jsonl"));
        Assert.Equal(FileLoadStatus.Loaded, later.Status);
        Assert.Equal("langsmith-trace-runs-jsonl", later.Format);
        // D is new; B (feedback_stats now) and C (its root) are rolled up again.
        Assert.Equal((5L, 1L, 2L), (later.RowsLoaded, later.RowsInserted, later.RowsUpdated));

        var feedback = await LoadAsync(File("production.feedback.jsonl"));
        Assert.Equal(FileLoadStatus.Loaded, feedback.Status);
        Assert.Equal("langsmith-trace-feedback-jsonl", feedback.Format);
        // A, B and C are rolled up again (B only gains the evaluator's score in its attributes: it is not user feedback);
        // the fourth trace has only feedback so far and waits for its runs.
        Assert.Equal((4L, 0L, 3L), (feedback.RowsLoaded, feedback.RowsInserted, feedback.RowsUpdated));
        Assert.Equal((4L, 3L, 1L), (feedback.Traces!.Touched, feedback.Traces.RolledUp, feedback.Traces.Waiting));

        Assert.Equal(ExpectedRows.Order(StringComparer.Ordinal), await TraceLinesAsync());
        var rows = (await TraceRowsAsync()).ToDictionary(row => row.trace_id);
        Assert.Equal("Please cancel my subscription.", rows[C].input_preview);
        using var attributes = JsonDocument.Parse(rows[A].attributes!);
        Assert.Equal("Bot said approved; the order page says rejected.", attributes.RootElement.GetProperty("feedback_comment").GetString());
        Assert.Equal(2, attributes.RootElement.GetProperty("feedback").GetArrayLength());
    }

    [Fact]
    public async Task Files_loaded_in_any_order_give_the_same_rows()
    {
        await LoadAsync(File("production.feedback.jsonl"));
        Assert.Empty(await TraceLinesAsync());
        await LoadAsync(File("production-later.jsonl"));
        await LoadAsync(File("production.jsonl"));

        Assert.Equal(ExpectedRows.Order(StringComparer.Ordinal), await TraceLinesAsync());
    }

    [Fact]
    public async Task Reloading_any_file_changes_nothing()
    {
        await LoadAsync(File("production.jsonl"));
        await LoadAsync(File("production-later.jsonl"));
        await LoadAsync(File("production.feedback.jsonl"));

        await AssertReloadChangesNothingAsync(File("production.jsonl"));
        await AssertReloadChangesNothingAsync(File("production-later.jsonl"));
        await AssertReloadChangesNothingAsync(File("production.feedback.jsonl"));
        Assert.Equal(ExpectedRows.Order(StringComparer.Ordinal), await TraceLinesAsync());
    }

    [Fact]
    public async Task Malformed_runs_are_rejected_one_by_one_with_their_reasons_and_good_runs_load()
    {
        var result = await LoadAsync(File("malformed.jsonl"));

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((8L, 2L, 6L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsInserted));
        var rejects = await RejectsAsync(result.BatchId!.Value);
        Assert.Equal([2L, 3L, 4L, 5L, 6L, 8L], rejects.Select(reject => reject.RecordNumber));
        Assert.StartsWith("line is not valid JSON", rejects[0].Reason);
        Assert.Equal("the run has no id", rejects[1].Reason);
        Assert.Equal("run 01975b00-1111-7000-8000-00000000c004: prompt_tokens 'lots' is not a whole number", rejects[2].Reason);
        Assert.Equal("run 01975b00-1111-7000-8000-00000000c005: start_time 'yesterday' is not a timestamp", rejects[3].Reason);
        Assert.Equal("line is a JSON array, not a run object", rejects[4].Reason);
        Assert.Contains("has no trace_id", rejects[5].Reason);
        Assert.Equal(
            [$"langsmith|{M}|2025-06-11T08:00:00.000000|unknown|refund-v4|unknown|unknown|unknown|unknown|unknown|unknown|consumer|unknown|unknown|2000|0.00035|100|10|-|E----|ValueError|-|-"],
            await TraceLinesAsync());
    }

    [Fact]
    public async Task Malformed_feedback_is_rejected_one_by_one_and_good_feedback_loads()
    {
        await LoadAsync(File("malformed.jsonl"));

        var result = await LoadAsync(File("malformed-feedback.jsonl"));

        Assert.Equal("langsmith-trace-feedback-jsonl", result.Format);
        Assert.Equal((6L, 1L, 5L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsUpdated));
        var rejects = await RejectsAsync(result.BatchId!.Value);
        Assert.Equal([2L, 3L, 4L, 5L, 6L], rejects.Select(reject => reject.RecordNumber));
        Assert.StartsWith("line is not valid JSON", rejects[0].Reason);
        Assert.Equal("feedback 8e000000-0000-4000-8000-000000000003: user_score: score \"excellent\" is a JSON string, not a number or boolean", rejects[1].Reason);
        Assert.Contains("has neither trace_id nor run_id", rejects[2].Reason);
        Assert.Equal("feedback 8e000000-0000-4000-8000-000000000005: created_at 'last tuesday' is not a timestamp", rejects[3].Reason);
        Assert.Equal("feedback 8e000000-0000-4000-8000-000000000006: the feedback has no key", rejects[4].Reason);
        Assert.Equal(1.0, (await TraceRowsAsync()).Single().feedback_score);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_bulk_exports_parquet_loads_the_rows_of_the_json_lines_export(bool gzip)
    {
        var parquet = await WriteParquetAsync(File("production.jsonl"), Path.Combine(Files.Folder, "export.parquet"));
        if (gzip)
        {
            await using (var input = System.IO.File.OpenRead(parquet))
            await using (var output = new GZipStream(System.IO.File.Create(parquet + ".gz"), CompressionLevel.Fastest))
            {
                await input.CopyToAsync(output, Token);
            }

            parquet += ".gz";
        }

        var result = await LoadAsync(parquet);

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal("langsmith-trace-runs-parquet", result.Format);
        Assert.Equal((12L, 3L), (result.RowsLoaded, result.RowsInserted));
        Assert.Equal(new[] { RowA, RowB, RowCWithoutRoot }.Order(StringComparer.Ordinal), await TraceLinesAsync());

        // The JSON Lines export of the same runs changes nothing: same part ids, same values.
        var jsonl = await LoadAsync(File("production.jsonl"));
        Assert.Equal((0L, 0L), (jsonl.RowsInserted, jsonl.RowsUpdated));
    }

    [Fact]
    public async Task A_parquet_row_whose_json_column_is_broken_is_rejected_and_the_rest_load()
    {
        var lines = System.IO.File.ReadAllLines(File("production.jsonl"));
        var source = Files.Write("runs.jsonl", string.Join('\n', lines) + "\n");
        var parquet = await WriteParquetAsync(source, Path.Combine(Files.Folder, "broken.parquet"), breakExtraOfRow: 2);

        var result = await LoadAsync(parquet);

        Assert.Equal((12L, 11L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        var reject = Assert.Single(await RejectsAsync(result.BatchId!.Value));
        Assert.Equal(2L, reject.RecordNumber);
        Assert.StartsWith("column extra is not valid JSON", reject.Reason);
    }

    [Fact]
    public async Task Experiment_runs_forced_with_format_load_as_traces()
    {
        var experiment = Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval", "langsmith", "experiment.jsonl");
        var copy = Path.Combine(Files.Folder, "experiment-as-traces.jsonl");
        System.IO.File.Copy(experiment, copy);

        Assert.Equal("langsmith-runs-jsonl", SourceDetector.Detect(copy).Format.Name);
        var result = await LoadAsync(copy, new LoadOptions(Format: "langsmith-trace-runs-jsonl"));

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal("quality.trace_summaries", result.Table);
        Assert.Equal(4, (await TraceRowsAsync("langsmith")).Count);
    }

    [Fact]
    public async Task Key_names_and_the_app_url_are_configurable()
    {
        var settings = new SourceSettings(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            // The eval adapter's path names work for traces too: extra.metadata.<name> is how a run's metadata is flattened.
            ["Sources:langsmith:Keys:customer_tier:0"] = "extra.metadata.user_id",
            ["Sources:langsmith:AppUrl"] = "https://eu.smith.langchain.com/",
        }).Build());

        await LoadAsync(File("production.jsonl"), settings: settings);

        var row = (await TraceRowsAsync()).Single(each => each.trace_id == A);
        Assert.Equal("cust_48213", row.customer_tier);
        Assert.StartsWith("https://eu.smith.langchain.com/o/6d1f0a2e-", row.trace_url);
    }

    /// <summary>A runs JSON Lines file as a bulk export writes it: times typed, numbers typed, objects and lists as JSON text.</summary>
    private static async Task<string> WriteParquetAsync(string jsonl, string path, int? breakExtraOfRow = null)
    {
        var runs = System.IO.File.ReadLines(jsonl).Where(line => line.Trim().Length > 0).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var names = runs.SelectMany(run => run.EnumerateObject().Select(property => property.Name)).Distinct().ToList();
        string[] times = ["start_time", "end_time"];
        string[] counts = ["prompt_tokens", "completion_tokens", "total_tokens"];
        string[] costs = ["prompt_cost", "completion_cost", "total_cost"];
        var fields = names.Select(name => times.Contains(name) ? new DataField<DateTime?>(name)
            : counts.Contains(name) ? new DataField<long?>(name)
            : costs.Contains(name) ? (DataField)new DataField<double?>(name)
            : new DataField<string>(name)).ToList();
        JsonElement? Value(JsonElement run, string name) => run.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

        await using var stream = System.IO.File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream, cancellationToken: Token);
        using var group = writer.CreateRowGroup();
        foreach (var field in fields)
        {
            var name = field.Name;
            if (times.Contains(name))
            {
                await group.WriteAsync(field, new ReadOnlyMemory<DateTime?>(runs.Select(run => Value(run, name) is { } value
                    ? DateTime.Parse(value.GetString()!, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal)
                    : (DateTime?)null).ToArray()), cancellationToken: Token);
            }
            else if (counts.Contains(name))
            {
                await group.WriteAsync(field, new ReadOnlyMemory<long?>(runs.Select(run => Value(run, name) is { } value
                    ? long.Parse(value.ToString(), System.Globalization.CultureInfo.InvariantCulture)
                    : (long?)null).ToArray()), cancellationToken: Token);
            }
            else if (costs.Contains(name))
            {
                await group.WriteAsync(field, new ReadOnlyMemory<double?>(runs.Select(run => Value(run, name) is { } value
                    ? double.Parse(value.ToString(), System.Globalization.CultureInfo.InvariantCulture)
                    : (double?)null).ToArray()), cancellationToken: Token);
            }
            else
            {
                await group.WriteAsync(field, runs.Select((run, index) => index + 1 == breakExtraOfRow && name == "extra"
                    ? "{\"metadata\": {"
                    : Value(run, name) is { } value ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText() : null).ToArray());
            }
        }

        return path;
    }
}

public sealed class LangSmithTraceDuckDbTests : LangSmithTraceSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class LangSmithTracePostgresTests : LangSmithTraceSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class LangSmithTraceSqlServerTests : LangSmithTraceSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
