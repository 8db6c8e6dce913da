using Warehouse.Demo;
using Warehouse.Loading;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Traces.Otlp;

/// <summary>
/// The acceptance case: a Langfuse API export, and a collector's OTLP files of thousands of traces, whose root spans
/// and model-call spans sit in different files and whose feedback comes in logs files, load with no
/// option but the paths to exactly the rows the same traces have as canonical rows (the demo
/// generator writes both from one seed): one row per trace, tokens equal to the model calls' sum
/// (the agent span repeats them), JSON parse failures, complaints and keys from `app.*` attributes.
/// </summary>
public abstract class OtlpDemoEquivalenceSuite : TraceSuite
{
    private const int Traces = 3000;

    private const string Columns =
        "trace_id, started_at, model_version, prompt_version, retriever_version, guardrail_version, experiment_bucket, feature, intent, language, "
        + "customer_tier, output_format, context_band, latency_ms, cost_usd, input_tokens, output_tokens, context_tokens, is_error, error_type, "
        + "has_complaint, feedback_score, has_tool_parse_failure, has_json_parse_failure, is_retrieval_empty, session_id, input_preview";

    [Fact]
    public async Task Otlp_and_langfuse_exports_of_thousands_of_traces_load_to_the_same_rows_as_the_canonical_traces()
    {
        var canonical = DemoDataGenerator.Generate(Path.Combine(Files.Folder, "canonical"), seed: 7, traces: Traces, evalCases: 60);
        var tools = DemoDataGenerator.GenerateWithToolFormats(Path.Combine(Files.Folder, "tools"), seed: 7, traces: Traces, evalCases: 60);

        foreach (var file in (string[])[canonical.TraceFile, canonical.LateFeedbackFile])
        {
            Assert.Equal(FileLoadStatus.Loaded, (await LoadAsync(file)).Status);
        }

        var expected = await QueryAsync<TraceRow>($"select source, {Columns} from quality.trace_summaries order by trace_id");
        await ScalarAsync<long>("delete from quality.trace_summaries");

        var results = new List<FileLoadResult>();
        foreach (var file in (string[])[.. tools.TraceFiles, .. tools.LateFeedbackFiles])
        {
            var result = await LoadAsync(file);
            Assert.True(result.Status == FileLoadStatus.Loaded, result.Message);
            results.Add(result);
        }

        // Langfuse for the baseline weeks; OTLP children first, then roots (every candidate trace is rolled up
        // from its children, then again when its root arrives), then feedback; the later exports last.
        Assert.Equal(["langfuse-api-jsonl", "otlp-traces-jsonl", "otlp-traces-jsonl", "otlp-logs-jsonl", "langfuse-api-jsonl", "otlp-logs-jsonl"],
            results.Select(result => result.Format));
        var candidates = Traces / 2;
        Assert.Equal((3L * candidates, (long)candidates), (results[1].RowsLoaded, results[1].RowsInserted));
        Assert.Equal(((long)candidates, 0L, (long)candidates), (results[2].RowsLoaded, results[2].RowsInserted, results[2].RowsUpdated));
        Assert.Equal(tools.LateFeedbackTraces, (int)(results[4].RowsUpdated + results[5].RowsUpdated));

        var actual = await QueryAsync<TraceRow>($"select source, {Columns} from quality.trace_summaries order by trace_id");
        Assert.Equal(Traces, expected.Count);
        Assert.Equal(Traces, actual.Count);
        Assert.Equal(["langfuse", "otlp"], actual.Select(row => row.source).Distinct().Order(StringComparer.Ordinal));
        static string Line(TraceRow row) => row.ToString()[(row.source.Length + 1)..] + "|" + row.input_preview;
        var differences = expected.Zip(actual)
            .Select(pair => (Expected: Line(pair.First), Actual: Line(pair.Second)))
            .Where(pair => pair.Expected != pair.Actual)
            .Take(5)
            .ToList();
        Assert.Empty(differences);

        // The story's facts survive the trip: complaints, parse failures and keys are all there.
        foreach (var source in new[] { "langfuse", "otlp" })
        {
            var rows = actual.Where(row => row.source == source).ToList();
            Assert.Contains(rows, row => row.has_complaint);
            Assert.Contains(rows, row => row.has_tool_parse_failure && row.has_json_parse_failure);
            Assert.Contains(rows, row => row.has_json_parse_failure && !row.is_error);
            Assert.Contains(rows, row => row is { is_error: true, error_type: "timeout" });
            Assert.Equal(["consumer", "enterprise", "smb"], rows.Select(row => row.customer_tier).Distinct().Order(StringComparer.Ordinal));
        }
    }
}

public sealed class OtlpDemoEquivalenceDuckDbTests : OtlpDemoEquivalenceSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class OtlpDemoEquivalencePostgresTests : OtlpDemoEquivalenceSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class OtlpDemoEquivalenceSqlServerTests : OtlpDemoEquivalenceSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
