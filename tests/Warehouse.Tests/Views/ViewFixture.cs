using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Warehouse.Engines;
using Warehouse.Loading;
using Warehouse.Migrations;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Views;

/// <summary>One eval record of a fixture; defaults are the loader's 'unknown' keys.</summary>
public sealed record EvalRow
{
    public string Source { get; init; } = "canonical";
    public string RunId { get; init; } = "run-1";
    public required string CaseId { get; init; }
    public string Metric { get; init; } = "correctness";
    public int Epoch { get; init; } = 1;
    public string ModelVersion { get; init; } = "unknown";
    public string PromptVersion { get; init; } = "unknown";
    public string RetrieverVersion { get; init; } = "unknown";
    public string GuardrailVersion { get; init; } = "unknown";
    public string ExperimentBucket { get; init; } = "unknown";
    public string DatasetId { get; init; } = "golden";
    public string DatasetVersion { get; init; } = "unknown";
    public string JudgeVersion { get; init; } = "unknown";
    public string Feature { get; init; } = "unknown";
    public string Intent { get; init; } = "unknown";
    public string Language { get; init; } = "unknown";
    public string CustomerTier { get; init; } = "unknown";
    public string OutputFormat { get; init; } = "unknown";
    public string ContextBand { get; init; } = "unknown";
    public double? Score { get; init; }
    public bool? IsPassed { get; init; }
    public double? LatencyMs { get; init; }
    public double? CostUsd { get; init; }
    public DateTime? EvaluatedAt { get; init; } = ViewFixture.At(2026, 11, 20, 10);
    public string? SourceTraceId { get; init; }

    public string Version(string key) => ViewFixture.VersionOf(key, ModelVersion, PromptVersion, RetrieverVersion, GuardrailVersion, ExperimentBucket);

    public SliceLabels Labels => new(Feature, Intent, Language, CustomerTier, ContextBand);
}

/// <summary>One trace summary of a fixture.</summary>
public sealed record TraceRow
{
    public string Source { get; init; } = "canonical";
    public required string TraceId { get; init; }
    public DateTime? StartedAt { get; init; } = ViewFixture.At(2026, 11, 10, 12);
    public string ModelVersion { get; init; } = "unknown";
    public string PromptVersion { get; init; } = "unknown";
    public string RetrieverVersion { get; init; } = "unknown";
    public string GuardrailVersion { get; init; } = "unknown";
    public string ExperimentBucket { get; init; } = "unknown";
    public string Feature { get; init; } = "unknown";
    public string Intent { get; init; } = "unknown";
    public string Language { get; init; } = "unknown";
    public string CustomerTier { get; init; } = "unknown";
    public string OutputFormat { get; init; } = "unknown";
    public string ContextBand { get; init; } = "unknown";
    public double? LatencyMs { get; init; }
    public double? CostUsd { get; init; }
    public long? InputTokens { get; init; }
    public long? OutputTokens { get; init; }
    public bool IsError { get; init; }
    public string? ErrorType { get; init; }
    public bool HasComplaint { get; init; }
    public double? FeedbackScore { get; init; }
    public bool HasToolParseFailure { get; init; }
    public bool HasJsonParseFailure { get; init; }
    public bool IsRetrievalEmpty { get; init; }
    public string? SessionId { get; init; }
    public string? TraceUrl { get; init; }
    public string? InputPreview { get; init; }

    public string Version(string key) => ViewFixture.VersionOf(key, ModelVersion, PromptVersion, RetrieverVersion, GuardrailVersion, ExperimentBucket);

    public SliceLabels Labels => new(Feature, Intent, Language, CustomerTier, ContextBand);
}

public sealed record ComparisonRow(
    string Name,
    string Key,
    string Baseline,
    string Candidate,
    DateTime? BaselineFrom = null,
    DateTime? BaselineTo = null,
    DateTime? CandidateFrom = null,
    DateTime? CandidateTo = null);

public sealed record LockRow(
    string Name,
    string DatasetId,
    string CaseId,
    string? Metric = null,
    double? MinScore = null,
    string? SourceTraceId = null,
    string? Title = null,
    string? IncidentUrl = null);

/// <summary>The slice labels of a record or trace (output_format is always rolled up in the views).</summary>
public sealed record SliceLabels(string Feature, string Intent, string Language, string CustomerTier, string ContextBand);

/// <summary>
/// A small warehouse built in code: eval records, traces, comparisons and locks, loaded through the
/// real loader from canonical JSONL so the views see exactly what a user's load would give them.
/// </summary>
public sealed class ViewFixture
{
    public static readonly string[] VersionKeys = ["model_version", "prompt_version", "retriever_version", "guardrail_version", "experiment_bucket"];

    public List<EvalRow> Evals { get; } = [];
    public List<TraceRow> Traces { get; } = [];
    public List<ComparisonRow> Comparisons { get; } = [];
    public List<LockRow> Locks { get; } = [];

    public static DateTime At(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) =>
        new(year, month, day, hour, minute, second, DateTimeKind.Utc);

    public static string VersionOf(string key, string model, string prompt, string retriever, string guardrail, string bucket) => key switch
    {
        "model_version" => model,
        "prompt_version" => prompt,
        "retriever_version" => retriever,
        "guardrail_version" => guardrail,
        "experiment_bucket" => bucket,
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "not a version key"),
    };

    /// <summary>context_tokens that the loader turns into the wanted band (null for 'unknown').</summary>
    public static long? TokensFor(string band) => band switch
    {
        "<2k" => 1000,
        "2k-8k" => 4000,
        "8k-32k" => 16000,
        ">=32k" => 50000,
        "unknown" => null,
        _ => throw new ArgumentOutOfRangeException(nameof(band), band, "not a context band"),
    };

    public async Task LoadAsync(WarehouseEngine engine, CanonicalFiles files, CancellationToken cancellationToken)
    {
        new Migrator(engine).Migrate();
        var loader = new Loader(engine);
        if (Evals.Count > 0)
        {
            var result = await loader.LoadFileAsync(files.Write($"evals_{Guid.NewGuid():N}.jsonl", EvalJsonl()), new LoadOptions(), cancellationToken);
            Assert.True(result.Status == FileLoadStatus.Loaded && result.RowsLoaded == Evals.Count,
                $"the eval fixture did not load cleanly: {result.Status}, {result.RowsLoaded} of {Evals.Count} rows, {result.Message}");
        }

        if (Traces.Count > 0)
        {
            var result = await loader.LoadFileAsync(files.Write($"traces_{Guid.NewGuid():N}.jsonl", TraceJsonl()), new LoadOptions(), cancellationToken);
            Assert.True(result.Status == FileLoadStatus.Loaded && result.RowsLoaded == Traces.Count,
                $"the trace fixture did not load cleanly: {result.Status}, {result.RowsLoaded} of {Traces.Count} rows, {result.Message}");
        }

        await using var connection = await engine.OpenAsync(cancellationToken);
        foreach (var comparison in Comparisons)
        {
            await connection.ExecuteAsync(engine.Sql(
                "insert into quality.comparisons (comparison_name, compare_key, baseline, candidate, baseline_from, baseline_to, "
                + "candidate_from, candidate_to, created_at) values (@name, @key, @baseline, @candidate, @baselineFrom, @baselineTo, "
                + "@candidateFrom, @candidateTo, @createdAt)"),
                new
                {
                    name = comparison.Name,
                    key = comparison.Key,
                    baseline = comparison.Baseline,
                    candidate = comparison.Candidate,
                    baselineFrom = comparison.BaselineFrom,
                    baselineTo = comparison.BaselineTo,
                    candidateFrom = comparison.CandidateFrom,
                    candidateTo = comparison.CandidateTo,
                    createdAt = At(2026, 12, 1),
                });
        }

        foreach (var item in Locks)
        {
            await connection.ExecuteAsync(engine.Sql(
                "insert into quality.locks (lock_name, title, incident_url, dataset_id, case_id, metric, min_score, source_trace_id, created_at) "
                + "values (@name, @title, @incidentUrl, @datasetId, @caseId, @metric, @minScore, @sourceTraceId, @createdAt)"),
                new
                {
                    name = item.Name,
                    title = item.Title,
                    incidentUrl = item.IncidentUrl,
                    datasetId = item.DatasetId,
                    caseId = item.CaseId,
                    metric = item.Metric,
                    minScore = item.MinScore,
                    sourceTraceId = item.SourceTraceId,
                    createdAt = At(2026, 12, 1),
                });
        }
    }

    public string EvalJsonl()
    {
        var text = new StringBuilder();
        foreach (var row in Evals)
        {
            var values = new Dictionary<string, object?>
            {
                ["source"] = row.Source,
                ["eval_run_id"] = row.RunId,
                ["case_id"] = row.CaseId,
                ["metric"] = row.Metric,
                ["epoch"] = row.Epoch,
                ["model_version"] = row.ModelVersion,
                ["prompt_version"] = row.PromptVersion,
                ["retriever_version"] = row.RetrieverVersion,
                ["guardrail_version"] = row.GuardrailVersion,
                ["experiment_bucket"] = row.ExperimentBucket,
                ["dataset_id"] = row.DatasetId,
                ["dataset_version"] = row.DatasetVersion,
                ["judge_version"] = row.JudgeVersion,
                ["feature"] = row.Feature,
                ["intent"] = row.Intent,
                ["language"] = row.Language,
                ["customer_tier"] = row.CustomerTier,
                ["output_format"] = row.OutputFormat,
                ["context_tokens"] = TokensFor(row.ContextBand),
                ["score"] = row.Score,
                ["is_passed"] = row.IsPassed,
                ["latency_ms"] = row.LatencyMs,
                ["cost_usd"] = row.CostUsd,
                ["evaluated_at"] = Timestamp(row.EvaluatedAt),
                ["source_trace_id"] = row.SourceTraceId,
            };
            text.Append(JsonSerializer.Serialize(values)).Append('\n');
        }

        return text.ToString();
    }

    public string TraceJsonl()
    {
        var text = new StringBuilder();
        foreach (var row in Traces)
        {
            var values = new Dictionary<string, object?>
            {
                ["source"] = row.Source,
                ["trace_id"] = row.TraceId,
                ["started_at"] = Timestamp(row.StartedAt),
                ["model_version"] = row.ModelVersion,
                ["prompt_version"] = row.PromptVersion,
                ["retriever_version"] = row.RetrieverVersion,
                ["guardrail_version"] = row.GuardrailVersion,
                ["experiment_bucket"] = row.ExperimentBucket,
                ["feature"] = row.Feature,
                ["intent"] = row.Intent,
                ["language"] = row.Language,
                ["customer_tier"] = row.CustomerTier,
                ["output_format"] = row.OutputFormat,
                ["context_tokens"] = TokensFor(row.ContextBand),
                ["latency_ms"] = row.LatencyMs,
                ["cost_usd"] = row.CostUsd,
                ["input_tokens"] = row.InputTokens,
                ["output_tokens"] = row.OutputTokens,
                ["is_error"] = row.IsError,
                ["error_type"] = row.ErrorType,
                ["has_complaint"] = row.HasComplaint,
                ["feedback_score"] = row.FeedbackScore,
                ["has_tool_parse_failure"] = row.HasToolParseFailure,
                ["has_json_parse_failure"] = row.HasJsonParseFailure,
                ["is_retrieval_empty"] = row.IsRetrievalEmpty,
                ["session_id"] = row.SessionId,
                ["trace_url"] = row.TraceUrl,
                ["input_preview"] = row.InputPreview,
            };
            text.Append(JsonSerializer.Serialize(values)).Append('\n');
        }

        return text.ToString();
    }

    private static string? Timestamp(DateTime? value) =>
        value?.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
