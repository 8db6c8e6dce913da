using System.Globalization;
using Warehouse.Loading;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Traces;

/// <summary>
/// Base of the per-store trace suites: trace_summaries rows as one comparable line each, so a
/// test states its expected rows exactly, and the fixture folder `Fixtures/trace/&lt;store&gt;/`.
/// </summary>
public abstract class TraceSuite : DatabaseSuite
{
    protected override bool MigrateOnInitialize => true;

    public static string Fixture(string store, string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "trace", store, name);

    public sealed class TraceRow
    {
        public string source { get; set; } = "";
        public string trace_id { get; set; } = "";
        public DateTime? started_at { get; set; }
        public string model_version { get; set; } = "";
        public string prompt_version { get; set; } = "";
        public string retriever_version { get; set; } = "";
        public string guardrail_version { get; set; } = "";
        public string experiment_bucket { get; set; } = "";
        public string feature { get; set; } = "";
        public string intent { get; set; } = "";
        public string language { get; set; } = "";
        public string customer_tier { get; set; } = "";
        public string output_format { get; set; } = "";
        public string context_band { get; set; } = "";
        public double? latency_ms { get; set; }
        public double? cost_usd { get; set; }
        public long? input_tokens { get; set; }
        public long? output_tokens { get; set; }
        public long? context_tokens { get; set; }
        public bool is_error { get; set; }
        public string? error_type { get; set; }
        public bool has_complaint { get; set; }
        public double? feedback_score { get; set; }
        public bool has_tool_parse_failure { get; set; }
        public bool has_json_parse_failure { get; set; }
        public bool is_retrieval_empty { get; set; }
        public string? session_id { get; set; }
        public string? trace_url { get; set; }
        public string? input_preview { get; set; }
        public string? attributes { get; set; }
        public long _batch_id { get; set; }

        /// <summary>
        /// The row as one line: source|trace_id|started_at|model|prompt|retriever|guardrail|bucket|feature|intent|language|tier|
        /// output_format|context_band|latency_ms|cost_usd|in|out|context|flags|error_type|feedback|session.
        /// Flags are the letters E (error), C (complaint), T (tool parse failure), J (JSON parse failure), R (empty
        /// retrieval) or '-' each. Numbers are rounded to 9 places; '-' is null.
        /// </summary>
        public override string ToString() => string.Join("|",
            source, trace_id, started_at?.ToString("yyyy-MM-ddTHH:mm:ss.ffffff", CultureInfo.InvariantCulture) ?? "-",
            model_version, prompt_version, retriever_version, guardrail_version, experiment_bucket,
            feature, intent, language, customer_tier, output_format, context_band,
            Number(latency_ms), Number(cost_usd), Count(input_tokens), Count(output_tokens), Count(context_tokens),
            Flags(), error_type ?? "-", Number(feedback_score), session_id ?? "-");

        public string Flags() => string.Concat(
            is_error ? "E" : "-", has_complaint ? "C" : "-", has_tool_parse_failure ? "T" : "-",
            has_json_parse_failure ? "J" : "-", is_retrieval_empty ? "R" : "-");

        private static string Number(double? value) => value is { } number ? Math.Round(number, 9).ToString("R", CultureInfo.InvariantCulture) : "-";

        private static string Count(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";
    }

    protected Task<List<TraceRow>> TraceRowsAsync(string? source = null) => QueryAsync<TraceRow>(
        "select * from quality.trace_summaries" + (source is null ? "" : " where source = @source") + " order by source, trace_id",
        new { source });

    /// <summary>Every row's line, sorted, for an exact comparison with expected lines.</summary>
    protected async Task<List<string>> TraceLinesAsync(string? source = null) =>
        (await TraceRowsAsync(source)).Select(row => row.ToString()).Order(StringComparer.Ordinal).ToList();

    protected Task<long> PartCountAsync(string source) =>
        ScalarAsync<long>("select count(*) from etl.trace_parts where source = @source", new { source });

    protected Task<List<(long RecordNumber, string Reason)>> RejectsAsync(long batchId) =>
        QueryAsync<(long, string)>("select record_number, reason from etl.rejected_records where batch_id = @batchId order by record_number, reason",
            new { batchId });

    /// <summary>Loading the same file again is a no-op: skipped as identical, and with --force nothing changes.</summary>
    protected async Task AssertReloadChangesNothingAsync(string path, LoadOptions? options = null)
    {
        var before = await TraceLinesAsync();
        var again = await LoadAsync(path, options);
        Assert.Equal(FileLoadStatus.Skipped, again.Status);
        var forced = await LoadAsync(path, (options ?? new LoadOptions()) with { Force = true });
        Assert.True(forced.Status is FileLoadStatus.Loaded or FileLoadStatus.LoadedWithRejects, forced.Message);
        Assert.Equal((0L, 0L), (forced.RowsInserted, forced.RowsUpdated));
        Assert.Equal(before, await TraceLinesAsync());
    }
}
