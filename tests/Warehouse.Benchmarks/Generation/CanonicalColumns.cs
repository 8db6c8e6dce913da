using Warehouse.Loading;

namespace Warehouse.Benchmarks.Generation;

/// <summary>
/// The canonical files' columns: every column of quality.trace_summaries / quality.eval_records
/// except the loader's bookkeeping (_batch_id, _loaded_at), in table order, read from the
/// loader's own <see cref="TableSchema"/> so a new column fails here instead of going unmeasured.
/// </summary>
internal static class CanonicalColumns
{
    public const string Source = "bench";

    public static readonly IReadOnlyList<(string Name, Func<SyntheticTrace, object?> Value)> Traces = Bind(TableSchema.TraceSummaries,
        new Dictionary<string, Func<SyntheticTrace, object?>>(StringComparer.Ordinal)
        {
            ["source"] = _ => Source,
            ["trace_id"] = trace => trace.TraceId,
            ["started_at"] = trace => trace.StartedAt,
            ["model_version"] = trace => trace.ModelVersion,
            ["prompt_version"] = trace => trace.PromptVersion,
            ["retriever_version"] = trace => trace.RetrieverVersion,
            ["guardrail_version"] = trace => trace.GuardrailVersion,
            ["experiment_bucket"] = trace => trace.ExperimentBucket,
            ["feature"] = trace => trace.Feature,
            ["intent"] = trace => trace.Intent,
            ["language"] = trace => trace.Language,
            ["customer_tier"] = trace => trace.CustomerTier,
            ["output_format"] = trace => trace.OutputFormat,
            ["context_band"] = trace => trace.ContextBand,
            ["latency_ms"] = trace => trace.LatencyMs,
            ["cost_usd"] = trace => trace.CostUsd,
            ["input_tokens"] = trace => trace.InputTokens,
            ["output_tokens"] = trace => trace.OutputTokens,
            ["context_tokens"] = trace => trace.ContextTokens,
            ["is_error"] = trace => trace.IsError,
            ["error_type"] = trace => trace.ErrorType,
            ["has_complaint"] = trace => trace.HasComplaint,
            ["feedback_score"] = trace => trace.FeedbackScore,
            ["has_tool_parse_failure"] = trace => trace.HasToolParseFailure,
            ["has_json_parse_failure"] = trace => trace.HasJsonParseFailure,
            ["is_retrieval_empty"] = trace => trace.IsRetrievalEmpty,
            ["session_id"] = trace => trace.SessionId,
            ["trace_url"] = trace => trace.TraceUrl,
            ["input_preview"] = trace => trace.InputPreview,
            ["attributes"] = trace => new JsonAttributes(("region", trace.Region), ("app_version", "2.4.0"), ("model_calls", trace.ModelCalls)),
        });

    public static readonly IReadOnlyList<(string Name, Func<SyntheticEval, object?> Value)> Evals = Bind(TableSchema.EvalRecords,
        new Dictionary<string, Func<SyntheticEval, object?>>(StringComparer.Ordinal)
        {
            ["source"] = _ => Source,
            ["eval_run_id"] = eval => eval.EvalRunId,
            ["case_id"] = eval => eval.Case.CaseId,
            ["metric"] = eval => eval.Metric,
            ["epoch"] = _ => 1,
            ["model_version"] = _ => SyntheticEvals.ModelVersion,
            ["prompt_version"] = eval => eval.PromptVersion,
            ["retriever_version"] = _ => "kb-2026-10",
            ["guardrail_version"] = _ => "guard-2",
            ["experiment_bucket"] = _ => "offline",
            ["dataset_id"] = eval => eval.Case.DatasetId,
            ["dataset_version"] = _ => "v7",
            ["judge_version"] = _ => SyntheticEvals.JudgeVersion,
            ["feature"] = eval => eval.Case.Feature,
            ["intent"] = eval => eval.Case.Intent,
            ["language"] = eval => eval.Case.Language,
            ["customer_tier"] = eval => eval.Case.CustomerTier,
            ["output_format"] = eval => eval.Case.OutputFormat,
            ["context_band"] = eval => eval.Case.ContextBand,
            ["score"] = eval => eval.Score,
            ["is_passed"] = eval => eval.IsPassed,
            ["raw_score"] = eval => eval.Metric == "correctness" ? eval.Score : eval.IsPassed ? "PASS" : "FAIL",
            ["latency_ms"] = eval => eval.LatencyMs,
            ["cost_usd"] = eval => eval.CostUsd,
            ["input_tokens"] = eval => eval.InputTokens,
            ["output_tokens"] = eval => eval.OutputTokens,
            ["context_tokens"] = eval => eval.Case.ContextTokens,
            ["evaluated_at"] = eval => eval.EvaluatedAt,
            ["source_trace_id"] = eval => eval.Case.SourceTraceId,
            ["artifact_url"] = eval => eval.Case.Index % 50 == 0 ? $"https://evals.example.com/runs/{eval.EvalRunId}/cases/{eval.Case.CaseId}" : null,
            ["attributes"] = eval => new JsonAttributes(("grader", eval.Metric == "correctness" ? "llm-rubric" : "javascript"), ("difficulty", Math.Round(eval.Case.Difficulty, 2))),
        });

    private static List<(string Name, Func<T, object?> Value)> Bind<T>(TableSchema schema, Dictionary<string, Func<T, object?>> values) =>
        schema.Columns
            .Where(column => column.Role != ColumnRole.Bookkeeping)
            .Select(column => values.TryGetValue(column.Name, out var value)
                ? (column.Name, value)
                : throw new InvalidOperationException($"the benchmark generates no value for {schema.QualifiedName}.{column.Name}"))
            .ToList();
}

/// <summary>A small flat JSON object for the attributes column (text in CSV, an object in JSON Lines).</summary>
internal sealed class JsonAttributes(params (string Key, object Value)[] properties)
{
    public IReadOnlyList<(string Key, object Value)> Properties { get; } = properties;
}
