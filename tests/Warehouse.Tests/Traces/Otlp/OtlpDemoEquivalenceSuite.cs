using Warehouse.Demo;
using Warehouse.Loading;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Traces.Otlp;

/// <summary>
/// The acceptance case: a collector's OTLP files of thousands of traces, whose root spans
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
    public async Task Otlp_files_of_thousands_of_traces_load_to_the_same_rows_as_the_canonical_traces()
    {
        var canonical = DemoDataGenerator.Generate(Path.Combine(Files.Folder, "canonical"), seed: 7, traces: Traces, evalCases: 60);
        var otlp = DemoDataGenerator.GenerateWithToolFormats(Path.Combine(Files.Folder, "otlp"), seed: 7, traces: Traces, evalCases: 60);

        foreach (var file in (string[])[canonical.TraceFile, canonical.LateFeedbackFile])
        {
            Assert.Equal(FileLoadStatus.Loaded, (await LoadAsync(file)).Status);
        }

        var results = new List<FileLoadResult>();
        foreach (var file in (string[])[.. otlp.TraceFiles, otlp.LateFeedbackFile])
        {
            var result = await LoadAsync(file);
            Assert.True(result.Status == FileLoadStatus.Loaded, result.Message);
            results.Add(result);
        }

        // Children first, then roots: every trace is rolled up once from its children and again when its root arrives.
        Assert.Equal(["otlp-traces-jsonl", "otlp-traces-jsonl", "otlp-logs-jsonl", "otlp-logs-jsonl"], results.Select(result => result.Format));
        Assert.Equal((3L * Traces, (long)Traces), (results[0].RowsLoaded, results[0].RowsInserted));
        Assert.Equal(((long)Traces, 0L, (long)Traces), (results[1].RowsLoaded, results[1].RowsInserted, results[1].RowsUpdated));
        Assert.Equal(otlp.LateFeedbackTraces, (int)results[3].RowsUpdated);

        var expected = await QueryAsync<TraceRow>($"select source, {Columns} from quality.trace_summaries where source = 'langfuse' order by trace_id");
        var actual = await QueryAsync<TraceRow>($"select source, {Columns} from quality.trace_summaries where source = 'otlp' order by trace_id");
        Assert.Equal(Traces, expected.Count);
        Assert.Equal(Traces, actual.Count);
        var differences = expected.Zip(actual)
            .Select(pair => (Expected: pair.First.ToString()[("langfuse".Length)..] + "|" + pair.First.input_preview,
                Actual: pair.Second.ToString()[("otlp".Length)..] + "|" + pair.Second.input_preview))
            .Where(pair => pair.Expected != pair.Actual)
            .Take(5)
            .ToList();
        Assert.Empty(differences);

        // The story's facts survive the trip: complaints, parse failures and keys are all there.
        Assert.Contains(actual, row => row.has_complaint);
        Assert.Contains(actual, row => row.has_tool_parse_failure && row.has_json_parse_failure);
        Assert.Contains(actual, row => row.has_json_parse_failure && !row.is_error);
        Assert.Contains(actual, row => row is { is_error: true, error_type: "timeout" });
        Assert.Equal(["consumer", "enterprise", "smb"], actual.Select(row => row.customer_tier).Distinct().Order(StringComparer.Ordinal));
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
