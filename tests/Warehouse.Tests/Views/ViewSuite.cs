using Warehouse.Tests.Support;
using static Warehouse.Tests.Views.ViewFixture;

namespace Warehouse.Tests.Views;

/// <summary>
/// Known-answer tests of the analysis views (VIEWS-SPEC.md): small fixtures built in code, loaded
/// through the real loader, and expected rows computed by hand or by <see cref="ViewReference"/>
/// (an independent C# reading of the spec), never by running SQL. The same expectations hold on
/// every engine; each subclass says only how to get a database.
/// </summary>
public abstract class ViewSuite : DatabaseSuite
{
    // Plain means, rates, deltas and CIs are the same arithmetic in C# and SQL: 1e-9.
    private const double ValueTolerance = 1e-9;

    // The SQL computes erfc with A&S 7.1.26 (absolute error ≤ 1.5e-7): p-values agree within 1e-6.
    private const double PTolerance = 1e-6;

    private Task LoadAsync(ViewFixture fixture) => fixture.LoadAsync(Engine, Files, Token);

    private Task<List<ViewRow>> QueryAsync(string sql) => ViewRows.QueryAsync(Engine, sql, Token);

    // ---------------------------------------------------------------- columns

    [Fact]
    public async Task Views_have_the_columns_of_the_spec()
    {
        await LoadAsync(new ViewFixture());
        string[] versionKeys = ["model_version", "prompt_version", "retriever_version", "guardrail_version", "experiment_bucket"];
        string[] labels = ["feature", "intent", "language", "customer_tier", "output_format", "context_band"];
        var expected = new Dictionary<string, string[]>
        {
            ["quality.eval_slices"] = ["evaluated_date", "source", .. versionKeys, "dataset_id", "dataset_version", "judge_version", .. labels,
                "metric", "n_records", "n_cases", "n_scored", "mean_score", "n_pass_known", "n_passed", "pass_rate", "mean_latency_ms", "total_cost_usd"],
            ["quality.trace_slices"] = ["started_date", "source", .. versionKeys, .. labels, "n_traces", "n_complaints", "complaint_rate",
                "n_errors", "error_rate", "n_tool_parse_failures", "tool_parse_failure_rate", "n_json_parse_failures", "json_parse_failure_rate",
                "n_retrieval_empty", "retrieval_empty_rate", "n_feedback", "mean_feedback_score", "mean_latency_ms", "mean_cost_usd",
                "total_cost_usd", "total_input_tokens", "total_output_tokens"],
            ["quality.slice_deltas"] = DeltaColumns,
            ["quality.divergences"] = ["comparison_name", "compare_key", "baseline", "candidate", "slice_level", .. labels, "divergence_type",
                "offline_metric", "offline_value_baseline", "offline_value_candidate", "offline_delta", "offline_ci_low", "offline_ci_high",
                "offline_p_adjusted", "offline_verdict", "online_metric", "online_value_baseline", "online_value_candidate", "online_delta",
                "online_ci_low", "online_ci_high", "online_p_adjusted", "online_verdict"],
            ["quality.slice_mix"] = ["slice_level", .. labels, "n_traces", "n_complaints", "n_eval_cases", "production_share", "eval_share", "mix_ratio"],
            ["quality.coverage_gaps"] = ["slice_level", .. labels, "n_traces", "n_complaints", "complaint_rate", "n_eval_cases", "complaint_rank"],
            ["quality.seed_candidates"] = ["source", "trace_id", "started_at", .. versionKeys, .. labels, "reason", "reasons", "priority",
                "has_complaint", "feedback_score", "is_error", "error_type", "latency_ms", "cost_usd", "session_id", "trace_url", "input_preview"],
            ["quality.lock_status"] = ["lock_name", "title", "incident_url", "dataset_id", "case_id", "metric", "min_score", "source_trace_id",
                "version_key", "version", "status", "metrics_checked", "metrics_failed", "lowest_score", "last_evaluated_at", "last_eval_run_id"],
        };

        var differences = new Differences("view columns");
        foreach (var (view, columns) in expected)
        {
            var actual = await ViewRows.ColumnsAsync(Engine, view, Token);
            var missing = columns.Except(actual).ToList();
            var extra = actual.Except(columns).ToList();
            if (missing.Count > 0 || extra.Count > 0)
            {
                differences.Add($"{view}: missing [{string.Join(", ", missing)}], not in the spec [{string.Join(", ", extra)}]");
            }
            else if (view == "quality.slice_deltas" && !actual.SequenceEqual(columns))
            {
                differences.Add($"{view}: the spec fixes the order {string.Join(", ", columns)}; the view has {string.Join(", ", actual)}");
            }
        }

        differences.AssertNone();
    }

    private static readonly string[] DeltaColumns =
    [
        "comparison_name", "compare_key", "baseline", "candidate", "side", "metric", "higher_is_better",
        "slice_level", "feature", "intent", "language", "customer_tier", "output_format", "context_band",
        "n_baseline", "n_candidate", "n_pairs", "value_baseline", "value_candidate", "delta", "ci_low", "ci_high",
        "statistical_test", "z_score", "p_value", "p_adjusted", "cases_regressed", "cases_improved", "verdict",
    ];

    // ---------------------------------------------------------------- eval_slices, trace_slices

    [Fact]
    public async Task Eval_slices_aggregate_records_per_date_versions_dataset_judge_slice_and_metric()
    {
        var fixture = new ViewFixture();
        var record = new EvalRow
        {
            CaseId = "c1", RunId = "run-a", PromptVersion = "v1", DatasetId = "ds", Feature = "refund", CustomerTier = "enterprise", ContextBand = "<2k",
        };
        fixture.Evals.AddRange(
        [
            record with { Epoch = 1, Score = 0.5, IsPassed = true, LatencyMs = 100, CostUsd = 0.25 },
            record with { Epoch = 2, Score = 0.25, IsPassed = false, LatencyMs = 200, CostUsd = 0.5 },
            record with { CaseId = "c2" },
            record with { CaseId = "c3", Score = 1.0, IsPassed = true, LatencyMs = 300, CostUsd = 0.25, EvaluatedAt = At(2026, 11, 20, 23, 59, 59) },
            record with { Metric = "tone", Score = 0.75, IsPassed = true, LatencyMs = 50, CostUsd = 0.125 },
            record with { RunId = "run-b", Score = 0.5, IsPassed = true, EvaluatedAt = At(2026, 11, 21, 1) },
            record with { RunId = "run-c", Score = 0.5, IsPassed = null, EvaluatedAt = null },
            record with { CaseId = "c4", CustomerTier = "consumer", Score = 0.0, IsPassed = false },
            record with { RunId = "run-e", DatasetId = "other", Score = 0.5, IsPassed = true },
            record with { RunId = "run-d", JudgeVersion = "j2", Score = 0.5, IsPassed = true },
        ]);
        await LoadAsync(fixture);

        var rows = await QueryAsync("select * from quality.eval_slices");

        Assert.Equal(7, rows.Count);
        ViewRow Find(DateOnly? date, string metric, string tier, string dataset, string judge) => Assert.Single(rows, row =>
            row.Date("evaluated_date") == date && row.Text("metric") == metric && row.Text("customer_tier") == tier
            && row.Text("dataset_id") == dataset && row.Text("judge_version") == judge);
        var day = new DateOnly(2026, 11, 20);
        var main = Find(day, "correctness", "enterprise", "ds", "unknown");
        var differences = new Differences("quality.eval_slices");
        const string key = "2026-11-20/correctness/enterprise";
        differences.Text(key, "source", "canonical", main.Text("source"));
        differences.Text(key, "prompt_version", "v1", main.Text("prompt_version"));
        differences.Text(key, "model_version", "unknown", main.Text("model_version"));
        differences.Text(key, "feature", "refund", main.Text("feature"));
        differences.Text(key, "context_band", "<2k", main.Text("context_band"));
        differences.Text(key, "output_format", "unknown", main.Text("output_format"));
        differences.Long(key, "n_records", 4, main.Long("n_records"));
        differences.Long(key, "n_cases", 3, main.Long("n_cases"));
        differences.Long(key, "n_scored", 3, main.Long("n_scored"));
        differences.Number(key, "mean_score", 1.75 / 3, main.Double("mean_score"), ValueTolerance);
        differences.Long(key, "n_pass_known", 3, main.Long("n_pass_known"));
        differences.Long(key, "n_passed", 2, main.Long("n_passed"));
        differences.Number(key, "pass_rate", 2.0 / 3, main.Double("pass_rate"), ValueTolerance);
        differences.Number(key, "mean_latency_ms", 200, main.Double("mean_latency_ms"), ValueTolerance);
        differences.Number(key, "total_cost_usd", 1.0, main.Double("total_cost_usd"), ValueTolerance);

        var tone = Find(day, "tone", "enterprise", "ds", "unknown");
        differences.Long("tone", "n_records", 1, tone.Long("n_records"));
        differences.Number("tone", "mean_score", 0.75, tone.Double("mean_score"), ValueTolerance);
        differences.Number("tone", "total_cost_usd", 0.125, tone.Double("total_cost_usd"), ValueTolerance);
        var nextDay = Find(new DateOnly(2026, 11, 21), "correctness", "enterprise", "ds", "unknown");
        differences.Long("2026-11-21", "n_records", 1, nextDay.Long("n_records"));
        var undated = Find(null, "correctness", "enterprise", "ds", "unknown");
        differences.Long("undated", "n_records", 1, undated.Long("n_records"));
        differences.Long("undated", "n_pass_known", 0, undated.Long("n_pass_known"));
        differences.Number("undated", "pass_rate", null, undated.Double("pass_rate"), ValueTolerance);
        differences.Number("undated", "mean_score", 0.5, undated.Double("mean_score"), ValueTolerance);
        differences.Number("undated", "mean_latency_ms", null, undated.Double("mean_latency_ms"), ValueTolerance);
        var consumer = Find(day, "correctness", "consumer", "ds", "unknown");
        differences.Number("consumer", "pass_rate", 0.0, consumer.Double("pass_rate"), ValueTolerance);
        differences.Long("other dataset", "n_cases", 1, Find(day, "correctness", "enterprise", "other", "unknown").Long("n_cases"));
        differences.Long("judge j2", "n_records", 1, Find(day, "correctness", "enterprise", "ds", "j2").Long("n_records"));
        differences.AssertNone();
    }

    [Fact]
    public async Task Trace_slices_aggregate_traces_per_date_versions_and_slice()
    {
        var fixture = new ViewFixture();
        var trace = new TraceRow
        {
            TraceId = "", Source = "langfuse", ModelVersion = "gpt-x", Feature = "refund", CustomerTier = "enterprise", ContextBand = "2k-8k", OutputFormat = "json",
        };
        fixture.Traces.AddRange(
        [
            trace with
            {
                TraceId = "t1", StartedAt = At(2026, 11, 10, 8), LatencyMs = 100, CostUsd = 0.25, InputTokens = 10, OutputTokens = 20,
                IsError = true, HasComplaint = true, FeedbackScore = 0.25, HasToolParseFailure = true,
            },
            trace with
            {
                TraceId = "t2", StartedAt = At(2026, 11, 10, 23, 30), LatencyMs = 300, CostUsd = 0.75, InputTokens = 30, OutputTokens = 40,
                HasJsonParseFailure = true, IsRetrievalEmpty = true,
            },
            trace with { TraceId = "t3", StartedAt = At(2026, 11, 10, 0), FeedbackScore = 0.75 },
            trace with { TraceId = "t4", StartedAt = At(2026, 11, 11, 0), LatencyMs = 50 },
            trace with { TraceId = "t5", StartedAt = null, LatencyMs = 60 },
            trace with { TraceId = "t6", CustomerTier = "consumer", StartedAt = At(2026, 11, 10, 9), LatencyMs = 70 },
        ]);
        await LoadAsync(fixture);

        var rows = await QueryAsync("select * from quality.trace_slices");

        Assert.Equal(4, rows.Count);
        var main = Assert.Single(rows, row => row.Date("started_date") == new DateOnly(2026, 11, 10) && row.Text("customer_tier") == "enterprise");
        var differences = new Differences("quality.trace_slices");
        const string key = "2026-11-10/enterprise";
        differences.Text(key, "source", "langfuse", main.Text("source"));
        differences.Text(key, "model_version", "gpt-x", main.Text("model_version"));
        differences.Text(key, "output_format", "json", main.Text("output_format"));
        differences.Text(key, "context_band", "2k-8k", main.Text("context_band"));
        differences.Long(key, "n_traces", 3, main.Long("n_traces"));
        differences.Long(key, "n_complaints", 1, main.Long("n_complaints"));
        differences.Number(key, "complaint_rate", 1.0 / 3, main.Double("complaint_rate"), ValueTolerance);
        differences.Long(key, "n_errors", 1, main.Long("n_errors"));
        differences.Number(key, "error_rate", 1.0 / 3, main.Double("error_rate"), ValueTolerance);
        differences.Long(key, "n_tool_parse_failures", 1, main.Long("n_tool_parse_failures"));
        differences.Number(key, "tool_parse_failure_rate", 1.0 / 3, main.Double("tool_parse_failure_rate"), ValueTolerance);
        differences.Long(key, "n_json_parse_failures", 1, main.Long("n_json_parse_failures"));
        differences.Number(key, "json_parse_failure_rate", 1.0 / 3, main.Double("json_parse_failure_rate"), ValueTolerance);
        differences.Long(key, "n_retrieval_empty", 1, main.Long("n_retrieval_empty"));
        differences.Number(key, "retrieval_empty_rate", 1.0 / 3, main.Double("retrieval_empty_rate"), ValueTolerance);
        differences.Long(key, "n_feedback", 2, main.Long("n_feedback"));
        differences.Number(key, "mean_feedback_score", 0.5, main.Double("mean_feedback_score"), ValueTolerance);
        differences.Number(key, "mean_latency_ms", 200, main.Double("mean_latency_ms"), ValueTolerance);
        differences.Number(key, "mean_cost_usd", 0.5, main.Double("mean_cost_usd"), ValueTolerance);
        differences.Number(key, "total_cost_usd", 1.0, main.Double("total_cost_usd"), ValueTolerance);
        differences.Long(key, "total_input_tokens", 40, main.Long("total_input_tokens"));
        differences.Long(key, "total_output_tokens", 60, main.Long("total_output_tokens"));
        var undated = Assert.Single(rows, row => row.Date("started_date") is null);
        differences.Long("undated", "n_traces", 1, undated.Long("n_traces"));
        differences.Number("undated", "mean_latency_ms", 60, undated.Double("mean_latency_ms"), ValueTolerance);
        var nextDay = Assert.Single(rows, row => row.Date("started_date") == new DateOnly(2026, 11, 11));
        differences.Long("2026-11-11", "n_errors", 0, nextDay.Long("n_errors"));
        differences.Number("2026-11-11", "mean_feedback_score", null, nextDay.Double("mean_feedback_score"), ValueTolerance);
        differences.AssertNone();
    }

    // ---------------------------------------------------------------- slice_deltas

    /// <summary>
    /// 40 enterprise cases ran on both prompts: the baseline twice (0.25 and 0.75, case mean 0.5),
    /// the candidate once (0.625 on 30 cases, 0.375 on 5, 0.5 on 5). Five more cases ran only on the
    /// baseline, and case c46 ran only on the candidate, for a consumer.
    /// </summary>
    private static ViewFixture PairedFixture()
    {
        var fixture = new ViewFixture();
        fixture.Comparisons.Add(new("paired", "prompt_version", "p1", "p2"));
        var record = new EvalRow
        {
            CaseId = "", Feature = "refund", Intent = "refund_request", Language = "en", CustomerTier = "enterprise", ContextBand = "<2k",
        };
        for (var index = 0; index < 45; index++)
        {
            var caseId = $"c{index:D2}";
            var baseline = record with { CaseId = caseId, PromptVersion = "p1", RunId = "base" };
            if (index >= 40)
            {
                fixture.Evals.Add(baseline with { Score = 0.0, IsPassed = false });
                continue;
            }

            fixture.Evals.Add(baseline with { Epoch = 1, Score = 0.25, IsPassed = false });
            fixture.Evals.Add(baseline with { Epoch = 2, Score = 0.75, IsPassed = true });
            var candidate = record with { CaseId = caseId, PromptVersion = "p2", RunId = "cand" };
            fixture.Evals.Add(index switch
            {
                < 30 => candidate with { Score = 0.625, IsPassed = true },
                < 35 => candidate with { Score = 0.375, IsPassed = false },
                _ => candidate with { Score = 0.5, IsPassed = true },
            });
        }

        fixture.Evals.Add(record with { CaseId = "c46", PromptVersion = "p2", RunId = "cand", CustomerTier = "consumer", Score = 0.625, IsPassed = true });
        return fixture;
    }

    [Fact]
    public async Task Slice_deltas_offline_pairs_cases_by_their_means_and_uses_paired_z()
    {
        var fixture = PairedFixture();
        await LoadAsync(fixture);

        var rows = await DeltaRowsAsync();

        var enterprise = Delta(rows, "paired", "offline", "mean_score:correctness", "feature_customer_tier", feature: "refund", tier: "enterprise");
        var differences = new Differences("quality.slice_deltas");
        const string key = "paired/mean_score/refund-enterprise";
        // d: 30 × +0.125, 5 × −0.125, 5 × 0 → mean 0.078125, Σ(d − mean)² = 0.302734375.
        var se = Math.Sqrt(0.302734375 / 39) / Math.Sqrt(40);
        differences.Text(key, "statistical_test", "paired_z", enterprise.Text("statistical_test"));
        differences.Long(key, "n_pairs", 40, enterprise.Long("n_pairs"));
        differences.Long(key, "n_baseline", 40, enterprise.Long("n_baseline"));
        differences.Long(key, "n_candidate", 40, enterprise.Long("n_candidate"));
        differences.Number(key, "value_baseline", 0.5, enterprise.Double("value_baseline"), ValueTolerance);
        differences.Number(key, "value_candidate", 0.578125, enterprise.Double("value_candidate"), ValueTolerance);
        differences.Number(key, "delta", 0.078125, enterprise.Double("delta"), ValueTolerance);
        differences.Number(key, "z_score", 0.078125 / se, enterprise.Double("z_score"), 1e-8);
        differences.Number(key, "ci_low", 0.078125 - 1.959964 * se, enterprise.Double("ci_low"), ValueTolerance);
        differences.Number(key, "ci_high", 0.078125 + 1.959964 * se, enterprise.Double("ci_high"), ValueTolerance);
        differences.Long(key, "cases_improved", 30, enterprise.Long("cases_improved"));
        differences.Long(key, "cases_regressed", 5, enterprise.Long("cases_regressed"));
        differences.Text(key, "verdict", "improved", enterprise.Text("verdict"));
        differences.Text(key, "compare_key", "prompt_version", enterprise.Text("compare_key"));
        differences.Text(key, "baseline", "p1", enterprise.Text("baseline"));
        differences.Text(key, "candidate", "p2", enterprise.Text("candidate"));

        var passRate = Delta(rows, "paired", "offline", "pass_rate:correctness", "feature_customer_tier", feature: "refund", tier: "enterprise");
        differences.Number("pass_rate", "value_baseline", 0.5, passRate.Double("value_baseline"), ValueTolerance);
        differences.Number("pass_rate", "value_candidate", 0.875, passRate.Double("value_candidate"), ValueTolerance);
        differences.Number("pass_rate", "delta", 0.375, passRate.Double("delta"), ValueTolerance);
        differences.Long("pass_rate", "cases_improved", 35, passRate.Long("cases_improved"));
        differences.Long("pass_rate", "cases_regressed", 5, passRate.Long("cases_regressed"));

        // Only the 40 pairs count at every level; the unpaired cases c40..c44 and c46 do not.
        var overall = Delta(rows, "paired", "offline", "mean_score:correctness", "overall");
        differences.Long("overall", "n_pairs", 40, overall.Long("n_pairs"));
        differences.Long("overall", "n_candidate", 40, overall.Long("n_candidate"));
        differences.Long("overall", "cases_improved", 30, overall.Long("cases_improved"));
        differences.Number("overall", "value_candidate", 0.578125, overall.Double("value_candidate"), ValueTolerance);
        var consumer = Delta(rows, "paired", "offline", "mean_score:correctness", "feature_customer_tier", feature: "refund", tier: "consumer");
        differences.Long("consumer", "n_pairs", 0, consumer.Long("n_pairs"));
        differences.Long("consumer", "n_baseline", 0, consumer.Long("n_baseline"));
        differences.Long("consumer", "n_candidate", 1, consumer.Long("n_candidate"));
        differences.Long("consumer", "cases_improved", null, consumer.Long("cases_improved"));
        differences.Number("consumer", "value_baseline", null, consumer.Double("value_baseline"), ValueTolerance);
        differences.Number("consumer", "value_candidate", 0.625, consumer.Double("value_candidate"), ValueTolerance);
        differences.Number("consumer", "delta", null, consumer.Double("delta"), ValueTolerance);
        differences.Text("consumer", "statistical_test", "welch_z", consumer.Text("statistical_test"));
        differences.Text("consumer", "verdict", "insufficient_data", consumer.Text("verdict"));
        Assert.DoesNotContain(rows, row => row.Text("side") == "online");
        differences.AssertNone();
        AssertDeltasMatchReference(fixture, rows);
    }

    /// <summary>
    /// The spec pairs "within a slice": per slice, a pair is a case with observations in both arms.
    /// Cases d0..d4 are enterprise on the baseline and consumer on the candidate, so they have both
    /// arms in every slice that does not split by tier (overall, feature, feature_intent, ...), and
    /// pair there; per customer tier they have one arm each and pair nowhere.
    /// </summary>
    [Fact]
    public async Task Slice_deltas_pair_a_case_in_every_slice_that_holds_both_of_its_arms()
    {
        var fixture = PairedFixture();
        var record = new EvalRow { CaseId = "", Feature = "refund", Intent = "refund_request", Language = "en", ContextBand = "<2k" };
        for (var index = 0; index < 5; index++)
        {
            fixture.Evals.Add(record with { CaseId = $"d{index}", PromptVersion = "p1", RunId = "base", CustomerTier = "enterprise", Score = 0.5, IsPassed = true });
            fixture.Evals.Add(record with { CaseId = $"d{index}", PromptVersion = "p2", RunId = "cand", CustomerTier = "consumer", Score = 0.75, IsPassed = true });
        }

        await LoadAsync(fixture);

        var rows = await DeltaRowsAsync();

        var differences = new Differences("quality.slice_deltas pairing per slice");
        foreach (var (level, feature) in new[] { ("overall", "*"), ("feature", "refund") })
        {
            var row = Delta(rows, "paired", "offline", "mean_score:correctness", level, feature: feature);
            differences.Long(level, "n_pairs", 45, row.Long("n_pairs"));
            differences.Long(level, "cases_improved", 35, row.Long("cases_improved"));
        }

        var enterprise = Delta(rows, "paired", "offline", "mean_score:correctness", "feature_customer_tier", feature: "refund", tier: "enterprise");
        differences.Long("refund-enterprise", "n_pairs", 40, enterprise.Long("n_pairs"));
        var consumer = Delta(rows, "paired", "offline", "mean_score:correctness", "feature_customer_tier", feature: "refund", tier: "consumer");
        differences.Long("refund-consumer", "n_pairs", 0, consumer.Long("n_pairs"));
        differences.AssertNone();
        AssertDeltasMatchReference(fixture, rows);
    }

    /// <summary>Different cases on each model: no pairs, so two-proportion z and Welch z over records.</summary>
    private static ViewFixture UnpairedFixture()
    {
        var fixture = new ViewFixture();
        fixture.Comparisons.Add(new("unpaired", "model_version", "m1", "m2"));
        var record = new EvalRow
        {
            CaseId = "", Feature = "billing", Intent = "invoice", Language = "de", CustomerTier = "smb", ContextBand = "8k-32k", OutputFormat = "markdown",
        };
        for (var index = 0; index < 40; index++)
        {
            var passed = index < 30;
            fixture.Evals.Add(record with { CaseId = $"b{index:D2}", ModelVersion = "m1", Score = passed ? 0.75 : 0.25, IsPassed = passed });
        }

        for (var index = 0; index < 50; index++)
        {
            var passed = index < 45;
            fixture.Evals.Add(record with { CaseId = $"x{index:D2}", ModelVersion = "m2", Score = passed ? 0.75 : 0.25, IsPassed = passed });
        }

        fixture.Evals.Add(record with { CaseId = "t0", Metric = "tone", ModelVersion = "m1", Score = 0.5, IsPassed = true });
        fixture.Evals.Add(record with { CaseId = "t0", Metric = "tone", ModelVersion = "m2", Score = 1.0, IsPassed = true, RunId = "run-2" });
        fixture.Evals.Add(record with { CaseId = "t1", Metric = "tone", ModelVersion = "m2", Score = 0.25, IsPassed = false, RunId = "run-2" });
        fixture.Evals.Add(record with { CaseId = "t2", Metric = "tone", ModelVersion = "m2", Score = 0.5, IsPassed = true, RunId = "run-2" });
        return fixture;
    }

    [Fact]
    public async Task Slice_deltas_offline_without_pairs_uses_two_proportion_z_and_welch_z_over_records()
    {
        var fixture = UnpairedFixture();
        await LoadAsync(fixture);

        var rows = await DeltaRowsAsync();

        var differences = new Differences("quality.slice_deltas");
        // 30/40 against 45/50: pooled se √0.00625 for the test, unpooled √0.0064875 for the CI.
        var pass = Delta(rows, "unpaired", "offline", "pass_rate:correctness", "overall");
        differences.Text("pass_rate", "statistical_test", "two_proportion_z", pass.Text("statistical_test"));
        differences.Long("pass_rate", "n_baseline", 40, pass.Long("n_baseline"));
        differences.Long("pass_rate", "n_candidate", 50, pass.Long("n_candidate"));
        differences.Long("pass_rate", "n_pairs", 0, pass.Long("n_pairs"));
        differences.Long("pass_rate", "cases_regressed", null, pass.Long("cases_regressed"));
        differences.Long("pass_rate", "cases_improved", null, pass.Long("cases_improved"));
        differences.Number("pass_rate", "value_baseline", 0.75, pass.Double("value_baseline"), ValueTolerance);
        differences.Number("pass_rate", "value_candidate", 0.9, pass.Double("value_candidate"), ValueTolerance);
        differences.Number("pass_rate", "delta", 0.15, pass.Double("delta"), ValueTolerance);
        differences.Number("pass_rate", "z_score", 0.15 / Math.Sqrt(0.00625), pass.Double("z_score"), 1e-8);
        differences.Number("pass_rate", "p_value", 0.05777957112359727, pass.Double("p_value"), PTolerance);
        differences.Number("pass_rate", "ci_low", 0.15 - 1.959964 * Math.Sqrt(0.0064875), pass.Double("ci_low"), ValueTolerance);
        differences.Number("pass_rate", "ci_high", 0.15 + 1.959964 * Math.Sqrt(0.0064875), pass.Double("ci_high"), ValueTolerance);
        differences.Text("pass_rate", "verdict", "unchanged", pass.Text("verdict"));
        differences.Text("pass_rate", "higher_is_better", "True", pass.Bool("higher_is_better")?.ToString());

        // Scores 0.75/0.25: means 0.625 and 0.7, variances 1.875/39 and 1.125/49.
        var score = Delta(rows, "unpaired", "offline", "mean_score:correctness", "feature_context_band", feature: "billing", band: "8k-32k");
        var se = Math.Sqrt(1.875 / 39 / 40 + 1.125 / 49 / 50);
        differences.Text("mean_score", "statistical_test", "welch_z", score.Text("statistical_test"));
        differences.Number("mean_score", "delta", 0.075, score.Double("delta"), ValueTolerance);
        differences.Number("mean_score", "z_score", 0.075 / se, score.Double("z_score"), 1e-8);
        differences.Number("mean_score", "ci_low", 0.075 - 1.959964 * se, score.Double("ci_low"), ValueTolerance);
        differences.Number("mean_score", "p_value", StatisticsReference.TwoSidedP(0.075 / se), score.Double("p_value"), PTolerance);

        // tone: one baseline record; the one shared case still counts as a pair that improved.
        var tone = Delta(rows, "unpaired", "offline", "mean_score:tone", "overall");
        differences.Long("tone", "n_baseline", 1, tone.Long("n_baseline"));
        differences.Long("tone", "n_candidate", 3, tone.Long("n_candidate"));
        differences.Long("tone", "n_pairs", 1, tone.Long("n_pairs"));
        differences.Long("tone", "cases_improved", 1, tone.Long("cases_improved"));
        differences.Long("tone", "cases_regressed", 0, tone.Long("cases_regressed"));
        differences.Number("tone", "value_baseline", 0.5, tone.Double("value_baseline"), ValueTolerance);
        differences.Number("tone", "value_candidate", 1.75 / 3, tone.Double("value_candidate"), ValueTolerance);
        differences.Number("tone", "delta", 1.75 / 3 - 0.5, tone.Double("delta"), ValueTolerance);
        differences.Number("tone", "ci_low", null, tone.Double("ci_low"), ValueTolerance);
        differences.Number("tone", "z_score", null, tone.Double("z_score"), ValueTolerance);
        differences.Number("tone", "p_value", null, tone.Double("p_value"), ValueTolerance);
        differences.Number("tone", "p_adjusted", null, tone.Double("p_adjusted"), ValueTolerance);
        differences.Text("tone", "verdict", "insufficient_data", tone.Text("verdict"));
        differences.AssertNone();
        AssertDeltasMatchReference(fixture, rows);
    }

    /// <summary>
    /// Prompt p1 ran before 8 November, p2 after. Traces outside a comparison's windows (and traces
    /// without started_at, when a window has a bound) must not count.
    /// </summary>
    private static ViewFixture WindowFixture()
    {
        var fixture = new ViewFixture();
        fixture.Comparisons.Add(new("windowed", "prompt_version", "p1", "p2",
            BaselineFrom: At(2026, 11, 1), BaselineTo: At(2026, 11, 8), CandidateFrom: At(2026, 11, 8)));
        fixture.Comparisons.Add(new("unbounded", "prompt_version", "p1", "p2"));
        fixture.Comparisons.Add(new("until", "prompt_version", "p1", "p2", BaselineTo: At(2026, 11, 8)));
        var trace = new TraceRow { TraceId = "", Feature = "refund", CustomerTier = "enterprise", ContextBand = "<2k" };
        var number = 0;
        void Add(int count, string prompt, DateTime? startedAt, Func<int, bool> error, double latency)
        {
            for (var index = 0; index < count; index++)
            {
                fixture.Traces.Add(trace with
                {
                    TraceId = $"t{number++:D4}", PromptVersion = prompt, StartedAt = startedAt, IsError = error(index), LatencyMs = latency + index % 4,
                });
            }
        }

        Add(40, "p1", At(2026, 11, 3), index => index % 10 == 0, 100);
        Add(5, "p1", At(2026, 10, 30), _ => true, 1000);
        Add(5, "p1", At(2026, 11, 8), _ => true, 1000);
        Add(3, "p1", null, _ => true, 1000);
        Add(50, "p2", At(2026, 11, 9), index => index % 5 == 0, 120);
        Add(4, "p2", null, _ => false, 5000);
        Add(6, "p2", At(2026, 11, 7, 23, 59, 59), _ => false, 5000);
        return fixture;
    }

    [Fact]
    public async Task Slice_deltas_online_counts_only_traces_inside_the_comparison_windows()
    {
        var fixture = WindowFixture();
        await LoadAsync(fixture);

        var rows = await DeltaRowsAsync();

        var differences = new Differences("quality.slice_deltas");
        void Check(string comparison, long nBaseline, long nCandidate, double rateBaseline, double rateCandidate)
        {
            var row = Delta(rows, comparison, "online", "error_rate", "overall");
            differences.Long(comparison, "n_baseline", nBaseline, row.Long("n_baseline"));
            differences.Long(comparison, "n_candidate", nCandidate, row.Long("n_candidate"));
            differences.Number(comparison, "value_baseline", rateBaseline, row.Double("value_baseline"), ValueTolerance);
            differences.Number(comparison, "value_candidate", rateCandidate, row.Double("value_candidate"), ValueTolerance);
            differences.Long(comparison, "n_pairs", null, row.Long("n_pairs"));
            differences.Long(comparison, "cases_regressed", null, row.Long("cases_regressed"));
            differences.Long(comparison, "cases_improved", null, row.Long("cases_improved"));
            differences.Text(comparison, "statistical_test", "two_proportion_z", row.Text("statistical_test"));
            differences.Text(comparison, "higher_is_better", "False", row.Bool("higher_is_better")?.ToString());
        }

        Check("windowed", 40, 50, 0.1, 0.2);
        Check("unbounded", 53, 60, 17.0 / 53, 10.0 / 60);
        Check("until", 45, 60, 9.0 / 45, 10.0 / 60);
        var latency = Delta(rows, "windowed", "online", "mean_latency_ms", "overall");
        differences.Text("windowed latency", "statistical_test", "welch_z", latency.Text("statistical_test"));
        differences.Number("windowed latency", "value_baseline", 101.5, latency.Double("value_baseline"), ValueTolerance);
        differences.Number("windowed latency", "value_candidate", 121.46, latency.Double("value_candidate"), ValueTolerance);
        Assert.DoesNotContain(rows, row => row.Text("side") == "offline");
        Assert.DoesNotContain(rows, row => row.Text("metric") == "mean_cost_usd");
        differences.AssertNone();
        AssertDeltasMatchReference(fixture, rows);
    }

    /// <summary>
    /// Enterprise refund traffic has 40 traces per arm; consumer refund 29 baseline and 35 candidate
    /// traces; billing one baseline trace (no cost) and three candidate traces. Labels vary so every
    /// slice level has several slices, and output_format varies but must be rolled up.
    /// </summary>
    private static ViewFixture SmallArmsFixture()
    {
        var fixture = new ViewFixture();
        fixture.Comparisons.Add(new("small", "experiment_bucket", "control", "treatment"));
        var number = 0;
        void Add(string bucket, string feature, string tier, int count, Func<int, bool> error, Func<int, double?> latency, Func<int, double?> cost)
        {
            for (var index = 0; index < count; index++)
            {
                fixture.Traces.Add(new TraceRow
                {
                    TraceId = $"t{number++:D4}",
                    ExperimentBucket = bucket,
                    Feature = feature,
                    Intent = index % 2 == 0 ? "refund_request" : "refund_status",
                    Language = index % 3 == 0 ? "de" : "en",
                    CustomerTier = tier,
                    OutputFormat = index % 2 == 0 ? "json" : "text",
                    ContextBand = index % 4 == 0 ? "2k-8k" : "<2k",
                    IsError = error(index),
                    HasComplaint = index % 9 == 0,
                    LatencyMs = latency(index),
                    CostUsd = cost(index),
                });
            }
        }

        Add("control", "refund", "enterprise", 40, index => index % 10 == 0, index => 100 + index, _ => 0.5);
        Add("treatment", "refund", "enterprise", 40, index => index % 5 == 0, index => 110 + index, index => index % 2 == 0 ? 0.25 : 0.75);
        Add("control", "refund", "consumer", 29, index => index % 7 == 0, index => 200 + 2 * index, _ => 0.5);
        Add("treatment", "refund", "consumer", 35, index => index % 6 == 0, index => 200 + index, _ => 0.5);
        Add("control", "billing", "enterprise", 1, _ => false, _ => 300, _ => null);
        Add("treatment", "billing", "enterprise", 3, index => index == 0, index => 310 + 10 * index, _ => 0.25);
        return fixture;
    }

    [Fact]
    public async Task Slice_deltas_small_arms_are_insufficient_data_and_outside_the_holm_family()
    {
        var fixture = SmallArmsFixture();
        await LoadAsync(fixture);

        var rows = await DeltaRowsAsync();

        var differences = new Differences("quality.slice_deltas");
        var consumer = Delta(rows, "small", "online", "error_rate", "feature_customer_tier", feature: "refund", tier: "consumer");
        differences.Long("refund-consumer", "n_baseline", 29, consumer.Long("n_baseline"));
        differences.Text("refund-consumer", "verdict", "insufficient_data", consumer.Text("verdict"));
        differences.Number("refund-consumer", "p_adjusted", null, consumer.Double("p_adjusted"), PTolerance);
        Assert.NotNull(consumer.Double("p_value"));

        var billing = Delta(rows, "small", "online", "error_rate", "feature", feature: "billing");
        differences.Long("billing", "n_baseline", 1, billing.Long("n_baseline"));
        differences.Long("billing", "n_candidate", 3, billing.Long("n_candidate"));
        differences.Number("billing", "value_baseline", 0.0, billing.Double("value_baseline"), ValueTolerance);
        differences.Number("billing", "value_candidate", 1.0 / 3, billing.Double("value_candidate"), ValueTolerance);
        differences.Number("billing", "delta", 1.0 / 3, billing.Double("delta"), ValueTolerance);
        differences.Number("billing", "ci_low", null, billing.Double("ci_low"), ValueTolerance);
        differences.Number("billing", "ci_high", null, billing.Double("ci_high"), ValueTolerance);
        differences.Number("billing", "z_score", null, billing.Double("z_score"), ValueTolerance);
        differences.Number("billing", "p_value", null, billing.Double("p_value"), ValueTolerance);
        differences.Text("billing", "verdict", "insufficient_data", billing.Text("verdict"));

        var billingCost = Delta(rows, "small", "online", "mean_cost_usd", "feature", feature: "billing");
        differences.Long("billing cost", "n_baseline", 0, billingCost.Long("n_baseline"));
        differences.Number("billing cost", "value_baseline", null, billingCost.Double("value_baseline"), ValueTolerance);
        differences.Number("billing cost", "value_candidate", 0.25, billingCost.Double("value_candidate"), ValueTolerance);
        differences.Number("billing cost", "delta", null, billingCost.Double("delta"), ValueTolerance);

        var enterprise = Delta(rows, "small", "online", "error_rate", "feature_customer_tier", feature: "refund", tier: "enterprise");
        Assert.NotNull(enterprise.Double("p_adjusted"));
        differences.AssertNone();
        AssertDeltasMatchReference(fixture, rows);
    }

    [Fact]
    public async Task Slice_deltas_holm_adjusts_the_views_own_p_values_over_each_comparison_and_side()
    {
        var fixture = SmallArmsFixture();
        foreach (var record in UnpairedFixture().Evals)
        {
            fixture.Evals.Add(record with { ExperimentBucket = record.ModelVersion == "m1" ? "control" : "treatment" });
        }

        await LoadAsync(fixture);

        var rows = await DeltaRowsAsync();

        // The Holm step applied to the view's own p-values: exact arithmetic, independent of erfc.
        var differences = new Differences("quality.slice_deltas p_adjusted");
        foreach (var side in rows.GroupBy(row => (row.Text("comparison_name"), row.Text("side"))))
        {
            var family = side
                .Where(row => row.Double("p_value") is not null && row.Long("n_baseline") >= 30 && row.Long("n_candidate") >= 30)
                .OrderBy(row => row.Text("metric"), StringComparer.Ordinal)
                .ThenBy(row => row.Text("slice_level"), StringComparer.Ordinal)
                .ThenBy(row => row.Text("feature"), StringComparer.Ordinal)
                .ThenBy(row => row.Text("intent"), StringComparer.Ordinal)
                .ThenBy(row => row.Text("language"), StringComparer.Ordinal)
                .ThenBy(row => row.Text("customer_tier"), StringComparer.Ordinal)
                .ThenBy(row => row.Text("context_band"), StringComparer.Ordinal)
                .ToList();
            Assert.True(family.Count >= 10, $"{side.Key}: the fixture should give a real family, it gave {family.Count} rows");
            var adjusted = StatisticsReference.Holm(family.Select(row => row.Double("p_value")!.Value).ToList());
            for (var index = 0; index < family.Count; index++)
            {
                differences.Number($"{side.Key} {family[index].Text("metric")} {family[index].Slice()}", "p_adjusted",
                    adjusted[index], family[index].Double("p_adjusted"), 1e-12);
            }

            foreach (var row in side.Except(family))
            {
                differences.Number($"{side.Key} {row.Text("metric")} {row.Slice()} (outside the family)", "p_adjusted", null, row.Double("p_adjusted"), 0);
            }
        }

        differences.AssertNone();
        AssertDeltasMatchReference(fixture, rows);
    }

    [Fact]
    public async Task Slice_deltas_hold_a_star_in_every_rolled_up_column()
    {
        var fixture = SmallArmsFixture();
        fixture.Evals.AddRange(PairedFixture().Evals.Select(record => record with { ExperimentBucket = record.PromptVersion == "p1" ? "control" : "treatment" }));
        await LoadAsync(fixture);

        var rows = await DeltaRowsAsync();

        var columns = new Dictionary<string, string[]>
        {
            ["overall"] = [],
            ["feature"] = ["feature"],
            ["feature_intent"] = ["feature", "intent"],
            ["feature_customer_tier"] = ["feature", "customer_tier"],
            ["feature_language"] = ["feature", "language"],
            ["feature_context_band"] = ["feature", "context_band"],
        };
        Assert.Equal(columns.Keys.Order(), rows.Select(row => row.Text("slice_level")!).Distinct().Order());
        var differences = new Differences("quality.slice_deltas rolled-up columns");
        foreach (var row in rows)
        {
            var level = row.Text("slice_level")!;
            foreach (var column in new[] { "feature", "intent", "language", "customer_tier", "output_format", "context_band" })
            {
                var value = row.Text(column);
                var isRolledUp = !columns[level].Contains(column);
                if (isRolledUp != (value == "*"))
                {
                    differences.Add($"{row.Text("side")} {row.Text("metric")} {row.Slice()}: {column} = '{value}' at level {level}");
                }
            }
        }

        differences.AssertNone();
        AssertDeltasMatchReference(fixture, rows);
    }

    /// <summary>
    /// Prompt p2 makes refund errors rise from 2 % to 12 % (200 traces per arm) but answers twice as
    /// fast; offline its scores drop while more cases pass (different cases per arm).
    /// </summary>
    private static ViewFixture DirectionFixture()
    {
        var fixture = new ViewFixture();
        fixture.Comparisons.Add(new("direction", "prompt_version", "p1", "p2"));
        for (var index = 0; index < 200; index++)
        {
            var trace = new TraceRow { TraceId = "", Feature = "refund", CustomerTier = "enterprise", ContextBand = "<2k" };
            fixture.Traces.Add(trace with { TraceId = $"b{index:D3}", PromptVersion = "p1", IsError = index % 50 == 0, LatencyMs = 900 + index % 10 * 20, CostUsd = 0.5 });
            fixture.Traces.Add(trace with { TraceId = $"c{index:D3}", PromptVersion = "p2", IsError = index % 50 < 6, LatencyMs = 400 + index % 10 * 20, CostUsd = 0.25 });
        }

        for (var index = 0; index < 60; index++)
        {
            var record = new EvalRow { CaseId = "", Feature = "refund", CustomerTier = "enterprise", ContextBand = "<2k" };
            fixture.Evals.Add(record with { CaseId = $"b{index:D2}", PromptVersion = "p1", Score = index % 2 == 0 ? 0.75 : 0.875, IsPassed = index % 4 != 0 });
            fixture.Evals.Add(record with { CaseId = $"x{index:D2}", PromptVersion = "p2", Score = index % 2 == 0 ? 0.5 : 0.625, IsPassed = index % 20 != 0 });
        }

        return fixture;
    }

    [Fact]
    public async Task Slice_deltas_verdicts_follow_the_direction_of_each_metric()
    {
        var fixture = DirectionFixture();
        await LoadAsync(fixture);

        var rows = await DeltaRowsAsync();

        var differences = new Differences("quality.slice_deltas verdicts");
        foreach (var (side, metric, expected) in new[]
        {
            ("online", "error_rate", "regressed"),
            ("online", "mean_latency_ms", "improved"),
            ("online", "complaint_rate", "unchanged"),
            ("offline", "mean_score:correctness", "regressed"),
            ("offline", "pass_rate:correctness", "improved"),
        })
        {
            foreach (var level in new[] { "overall", "feature", "feature_customer_tier" })
            {
                var row = Delta(rows, "direction", side, metric, level, feature: level == "overall" ? "*" : "refund", tier: level == "feature_customer_tier" ? "enterprise" : "*");
                differences.Text($"{side} {metric} {level}", "verdict", expected, row.Text("verdict"));
            }
        }

        var errors = Delta(rows, "direction", "online", "error_rate", "overall");
        differences.Number("error_rate", "delta", 0.1, errors.Double("delta"), ValueTolerance);
        differences.Text("error_rate", "higher_is_better", "False", errors.Bool("higher_is_better")?.ToString());
        var latency = Delta(rows, "direction", "online", "mean_latency_ms", "overall");
        differences.Number("mean_latency_ms", "delta", -500, latency.Double("delta"), ValueTolerance);
        // Every cost is 0.5 on p1 and 0.25 on p2: se = 0 with a difference, so no z, p = 0, and the
        // CI collapses to the delta.
        var cost = Delta(rows, "direction", "online", "mean_cost_usd", "overall");
        differences.Number("mean_cost_usd", "delta", -0.25, cost.Double("delta"), ValueTolerance);
        differences.Number("mean_cost_usd", "z_score", null, cost.Double("z_score"), ValueTolerance);
        differences.Number("mean_cost_usd", "p_value", 0.0, cost.Double("p_value"), 0);
        differences.Number("mean_cost_usd", "ci_low", -0.25, cost.Double("ci_low"), ValueTolerance);
        differences.Number("mean_cost_usd", "ci_high", -0.25, cost.Double("ci_high"), ValueTolerance);
        differences.Text("mean_cost_usd", "verdict", "improved", cost.Text("verdict"));
        // No complaints in either arm: pooled se = 0 and delta = 0, so no z and p = 1.
        var complaints = Delta(rows, "direction", "online", "complaint_rate", "overall");
        differences.Number("complaint_rate", "z_score", null, complaints.Double("z_score"), ValueTolerance);
        differences.Number("complaint_rate", "p_value", 1.0, complaints.Double("p_value"), 0);
        differences.AssertNone();
        AssertDeltasMatchReference(fixture, rows);
    }

    /// <summary>
    /// Costs and latencies are the same in both arms and constant inside feature refund (0.1 USD,
    /// 1234.5 ms, spread over intents and bands), and far from that inside feature billing, so each
    /// arm's overall mean is far from refund's. Refund's standard error must be 0 (no z, p = 1),
    /// not the rounding noise of pooling its cells around another mean.
    /// </summary>
    private static ViewFixture ConstantSliceFixture()
    {
        var fixture = new ViewFixture();
        fixture.Comparisons.Add(new("constant", "prompt_version", "p1", "p2"));
        var trace = new TraceRow { TraceId = "", Language = "en", CustomerTier = "enterprise" };
        string[] intents = ["refund_request", "refund_status", "refund_other"];
        string[] bands = ["<2k", "2k-8k"];
        var number = 0;
        foreach (var prompt in new[] { "p1", "p2" })
        {
            for (var index = 0; index < 300; index++)
            {
                fixture.Traces.Add(trace with
                {
                    TraceId = $"t{number++:D4}", PromptVersion = prompt, Feature = "refund", Intent = intents[index % 3], ContextBand = bands[index / 3 % 2],
                    CostUsd = 0.1, LatencyMs = 1234.5,
                });
                fixture.Traces.Add(trace with
                {
                    TraceId = $"t{number++:D4}", PromptVersion = prompt, Feature = "billing", Intent = "invoice", ContextBand = "<2k",
                    CostUsd = 7 + index % 5 * 0.3, LatencyMs = 100 + index % 7,
                });
            }
        }

        return fixture;
    }

    [Fact]
    public async Task Slice_deltas_constant_values_in_a_slice_have_no_spread_whatever_the_other_slices_hold()
    {
        var fixture = ConstantSliceFixture();
        await LoadAsync(fixture);

        var rows = await DeltaRowsAsync();

        var differences = new Differences("quality.slice_deltas constant slices");
        foreach (var metric in new[] { "mean_cost_usd", "mean_latency_ms" })
        {
            foreach (var (level, intent, band) in new[] { ("feature", "*", "*"), ("feature_intent", "refund_status", "*"), ("feature_context_band", "*", "2k-8k") })
            {
                var row = Delta(rows, "constant", "online", metric, level, feature: "refund", intent: intent, band: band);
                var label = $"{metric} {level}";
                differences.Number(label, "delta", 0, row.Double("delta"), ValueTolerance);
                differences.Number(label, "z_score", null, row.Double("z_score"), ValueTolerance);
                differences.Number(label, "p_value", 1.0, row.Double("p_value"), 0);
                differences.Text(label, "verdict", "unchanged", row.Text("verdict"));
            }
        }

        // Not against ViewReference: its own sums of 0.1 leave a standard error above 1e-12 (z = 0).
        differences.AssertNone();
    }

    // ---------------------------------------------------------------- divergences

    /// <summary>
    /// Offline, p2 beats p1 on 36 of 40 enterprise refund cases. Online, p2 raises enterprise errors
    /// from 2 % to 20 % and lowers consumer errors from 20 % to 2 % (100 traces per tier and arm), so
    /// every slice that mixes both tiers is unchanged. Comparison "forward" is p1 → p2, "reverse" p2 → p1.
    /// </summary>
    private static ViewFixture DivergenceFixture()
    {
        var fixture = new ViewFixture();
        fixture.Comparisons.Add(new("forward", "prompt_version", "p1", "p2"));
        fixture.Comparisons.Add(new("reverse", "prompt_version", "p2", "p1"));
        var record = new EvalRow { CaseId = "", Feature = "refund", Intent = "refund_request", Language = "en", CustomerTier = "enterprise", ContextBand = "<2k" };
        for (var index = 0; index < 40; index++)
        {
            fixture.Evals.Add(record with { CaseId = $"c{index:D2}", PromptVersion = "p1", RunId = "base", Score = 0.5 });
            fixture.Evals.Add(record with { CaseId = $"c{index:D2}", PromptVersion = "p2", RunId = "cand", Score = index < 36 ? 0.75 : 0.5 });
        }

        var trace = new TraceRow { TraceId = "", Feature = "refund", Intent = "refund_request", Language = "en", ContextBand = "<2k", LatencyMs = 100 };
        for (var index = 0; index < 100; index++)
        {
            fixture.Traces.Add(trace with { TraceId = $"ep1-{index:D3}", PromptVersion = "p1", CustomerTier = "enterprise", IsError = index < 2 });
            fixture.Traces.Add(trace with { TraceId = $"ep2-{index:D3}", PromptVersion = "p2", CustomerTier = "enterprise", IsError = index < 20 });
            fixture.Traces.Add(trace with { TraceId = $"cp1-{index:D3}", PromptVersion = "p1", CustomerTier = "consumer", IsError = index < 20 });
            fixture.Traces.Add(trace with { TraceId = $"cp2-{index:D3}", PromptVersion = "p2", CustomerTier = "consumer", IsError = index < 2 });
        }

        return fixture;
    }

    [Fact]
    public async Task Divergences_report_exactly_the_slice_where_offline_wins_and_online_loses()
    {
        var fixture = DivergenceFixture();
        await LoadAsync(fixture);

        var rows = await QueryAsync("select * from quality.divergences where comparison_name = 'forward'");

        var row = Assert.Single(rows);
        var differences = new Differences("quality.divergences");
        differences.Text("forward", "divergence_type", "offline_win_online_loss", row.Text("divergence_type"));
        differences.Text("forward", "slice", new SliceKey("feature_customer_tier", "refund", "*", "*", "enterprise", "*", "*").ToString(), row.Slice().ToString());
        differences.Text("forward", "compare_key", "prompt_version", row.Text("compare_key"));
        differences.Text("forward", "baseline", "p1", row.Text("baseline"));
        differences.Text("forward", "candidate", "p2", row.Text("candidate"));
        differences.Text("forward", "offline_metric", "mean_score:correctness", row.Text("offline_metric"));
        differences.Number("forward", "offline_value_baseline", 0.5, row.Double("offline_value_baseline"), ValueTolerance);
        differences.Number("forward", "offline_value_candidate", 0.725, row.Double("offline_value_candidate"), ValueTolerance);
        differences.Number("forward", "offline_delta", 0.225, row.Double("offline_delta"), ValueTolerance);
        differences.Text("forward", "offline_verdict", "improved", row.Text("offline_verdict"));
        differences.Text("forward", "online_metric", "error_rate", row.Text("online_metric"));
        differences.Number("forward", "online_value_baseline", 0.02, row.Double("online_value_baseline"), ValueTolerance);
        differences.Number("forward", "online_value_candidate", 0.2, row.Double("online_value_candidate"), ValueTolerance);
        differences.Number("forward", "online_delta", 0.18, row.Double("online_delta"), ValueTolerance);
        differences.Text("forward", "online_verdict", "regressed", row.Text("online_verdict"));
        differences.AssertNone();
        AssertDivergencesMatchReference(fixture, rows, "forward");
        AssertDeltasMatchReference(fixture, await DeltaRowsAsync());
    }

    [Fact]
    public async Task Divergences_report_offline_loss_where_online_improved_or_held()
    {
        var fixture = DivergenceFixture();
        await LoadAsync(fixture);

        var rows = await QueryAsync("select * from quality.divergences where comparison_name = 'reverse'");

        // Offline regresses in all six slices; online the enterprise slice improved and every other
        // shared slice held (its rows all have p_adjusted 1, so the representative is the first metric).
        Assert.Equal(6, rows.Count);
        Assert.All(rows, row => Assert.Equal("offline_loss_online_win", row.Text("divergence_type")));
        Assert.All(rows, row => Assert.Equal("regressed", row.Text("offline_verdict")));
        var enterprise = Assert.Single(rows, row => row.Text("slice_level") == "feature_customer_tier");
        Assert.Equal(("improved", "error_rate"), (enterprise.Text("online_verdict"), enterprise.Text("online_metric")));
        var overall = Assert.Single(rows, row => row.Text("slice_level") == "overall");
        Assert.Equal(("unchanged", "complaint_rate"), (overall.Text("online_verdict"), overall.Text("online_metric")));
        AssertDivergencesMatchReference(fixture, rows, "reverse");
    }

    // ---------------------------------------------------------------- slice_mix, coverage_gaps

    /// <summary>
    /// 20 traces and 39 distinct eval cases: refund is well covered (34 cases), billing has 4 cases
    /// (b0 exists in two datasets), shipping has traffic and no cases, account has a case and no traffic.
    /// </summary>
    private static ViewFixture CoverageFixture()
    {
        var fixture = new ViewFixture();
        var number = 0;
        void Traces(string feature, string intent, string language, string tier, string band, int count, int complaints)
        {
            for (var index = 0; index < count; index++)
            {
                fixture.Traces.Add(new TraceRow
                {
                    TraceId = $"t{number++:D3}", Feature = feature, Intent = intent, Language = language, CustomerTier = tier, ContextBand = band,
                    HasComplaint = index < complaints, OutputFormat = index % 2 == 0 ? "json" : "text",
                });
            }
        }

        void Cases(string feature, string intent, string language, string tier, string band, string prefix, int count, string dataset = "golden")
        {
            for (var index = 0; index < count; index++)
            {
                var record = new EvalRow
                {
                    CaseId = $"{prefix}{index}", DatasetId = dataset, Feature = feature, Intent = intent, Language = language, CustomerTier = tier, ContextBand = band,
                    Source = dataset, Score = 0.5,
                };
                fixture.Evals.Add(record);
                fixture.Evals.Add(record with { Metric = "tone" });
                fixture.Evals.Add(record with { RunId = "run-2" });
            }
        }

        Traces("refund", "refund_request", "en", "enterprise", "<2k", 6, 2);
        Traces("refund", "refund_status", "de", "consumer", "2k-8k", 4, 1);
        Traces("billing", "invoice", "en", "enterprise", "8k-32k", 5, 3);
        Traces("shipping", "track", "en", "consumer", "<2k", 5, 1);
        Cases("refund", "refund_request", "en", "enterprise", "<2k", "r", 32);
        Cases("refund", "refund_status", "de", "consumer", "2k-8k", "s", 2);
        Cases("billing", "invoice", "en", "enterprise", "8k-32k", "b", 3);
        Cases("billing", "invoice", "en", "enterprise", "8k-32k", "b", 1, dataset: "other");
        Cases("account", "login", "fr", "consumer", ">=32k", "a", 1);
        return fixture;
    }

    [Fact]
    public async Task Slice_mix_gives_production_and_eval_shares_and_their_ratio_per_slice()
    {
        var fixture = CoverageFixture();
        await LoadAsync(fixture);

        var rows = await QueryAsync("select * from quality.slice_mix");

        var differences = new Differences("quality.slice_mix");
        void Check(SliceKey slice, long traces, long cases, double? ratio)
        {
            var row = rows.SingleOrDefault(row => row.Slice() == slice);
            if (row is null)
            {
                differences.Add($"{slice}: no row");
                return;
            }

            differences.Long(slice.ToString(), "n_traces", traces, row.Long("n_traces"));
            differences.Long(slice.ToString(), "n_eval_cases", cases, row.Long("n_eval_cases"));
            differences.Number(slice.ToString(), "production_share", traces / 20.0, row.Double("production_share"), ValueTolerance);
            differences.Number(slice.ToString(), "eval_share", cases / 39.0, row.Double("eval_share"), ValueTolerance);
            differences.Number(slice.ToString(), "mix_ratio", ratio, row.Double("mix_ratio"), ValueTolerance);
        }

        Check(new("feature", "refund", "*", "*", "*", "*", "*"), 10, 34, 0.5 / (34 / 39.0));
        Check(new("feature", "shipping", "*", "*", "*", "*", "*"), 5, 0, null);
        Check(new("feature", "account", "*", "*", "*", "*", "*"), 0, 1, 0.0);
        Check(new("feature", "billing", "*", "*", "*", "*", "*"), 5, 4, 0.25 / (4 / 39.0));
        Check(new("customer_tier", "*", "*", "*", "enterprise", "*", "*"), 11, 36, 0.55 / (36 / 39.0));
        Check(new("context_band", "*", "*", "*", "*", "*", "<2k"), 11, 32, 0.55 / (32 / 39.0));
        Check(new("feature_language", "account", "*", "fr", "*", "*", "*"), 0, 1, 0.0);

        var expected = ViewReference.SliceMix(fixture);
        differences.Long("all", "row count", expected.Count, rows.Count);
        foreach (var mix in expected)
        {
            var row = rows.SingleOrDefault(row => row.Slice() == mix.Slice);
            if (row is null)
            {
                differences.Add($"{mix.Slice}: no row");
                continue;
            }

            differences.Long(mix.Slice.ToString(), "n_traces", mix.NTraces, row.Long("n_traces"));
            differences.Long(mix.Slice.ToString(), "n_eval_cases", mix.NEvalCases, row.Long("n_eval_cases"));
            differences.Number(mix.Slice.ToString(), "production_share", mix.ProductionShare, row.Double("production_share"), ValueTolerance);
            differences.Number(mix.Slice.ToString(), "eval_share", mix.EvalShare, row.Double("eval_share"), ValueTolerance);
            differences.Number(mix.Slice.ToString(), "mix_ratio", mix.MixRatio, row.Double("mix_ratio"), ValueTolerance);
        }

        differences.AssertNone();
    }

    [Fact]
    public async Task Coverage_gaps_list_slices_with_complaints_and_under_30_eval_cases_ranked_by_complaints()
    {
        var fixture = CoverageFixture();
        await LoadAsync(fixture);

        var rows = await QueryAsync("select * from quality.coverage_gaps");

        var differences = new Differences("quality.coverage_gaps");
        Assert.DoesNotContain(rows, row => row.Text("feature") == "refund" && row.Text("slice_level") == "feature");
        Assert.DoesNotContain(rows, row => row.Text("feature") == "account");
        var billing = Assert.Single(rows, row => row.Slice() == new SliceKey("feature", "billing", "*", "*", "*", "*", "*"));
        differences.Long("billing", "n_traces", 5, billing.Long("n_traces"));
        differences.Long("billing", "n_complaints", 3, billing.Long("n_complaints"));
        differences.Number("billing", "complaint_rate", 0.6, billing.Double("complaint_rate"), ValueTolerance);
        differences.Long("billing", "n_eval_cases", 4, billing.Long("n_eval_cases"));
        differences.Long("billing", "complaint_rank", 1, billing.Long("complaint_rank"));
        var consumer = Assert.Single(rows, row => row.Slice() == new SliceKey("customer_tier", "*", "*", "*", "consumer", "*", "*"));
        differences.Long("consumer", "n_complaints", 2, consumer.Long("n_complaints"));
        differences.Long("consumer", "n_eval_cases", 3, consumer.Long("n_eval_cases"));
        differences.Long("consumer", "complaint_rank", 2, consumer.Long("complaint_rank"));
        var shipping = Assert.Single(rows, row => row.Slice() == new SliceKey("feature", "shipping", "*", "*", "*", "*", "*"));
        differences.Long("shipping", "n_eval_cases", 0, shipping.Long("n_eval_cases"));
        differences.Long("shipping", "complaint_rank", 3, shipping.Long("complaint_rank"));

        var expected = ViewReference.CoverageGaps(fixture);
        differences.Long("all", "row count", expected.Count, rows.Count);
        foreach (var gap in expected)
        {
            var row = rows.SingleOrDefault(row => row.Slice() == gap.Slice);
            if (row is null)
            {
                differences.Add($"{gap.Slice}: no row");
                continue;
            }

            differences.Long(gap.Slice.ToString(), "n_traces", gap.NTraces, row.Long("n_traces"));
            differences.Long(gap.Slice.ToString(), "n_complaints", gap.NComplaints, row.Long("n_complaints"));
            differences.Number(gap.Slice.ToString(), "complaint_rate", gap.ComplaintRate, row.Double("complaint_rate"), ValueTolerance);
            differences.Long(gap.Slice.ToString(), "n_eval_cases", gap.NEvalCases, row.Long("n_eval_cases"));
            differences.Long(gap.Slice.ToString(), "complaint_rank", gap.ComplaintRank, row.Long("complaint_rank"));
        }

        differences.AssertNone();
    }

    // ---------------------------------------------------------------- seed_candidates

    [Fact]
    public async Task Seed_candidates_give_reasons_in_order_priority_and_skip_linked_traces()
    {
        var fixture = new ViewFixture();
        var refund = new TraceRow { TraceId = "", Feature = "refund", Source = "langfuse", PromptVersion = "p1", CustomerTier = "enterprise", ContextBand = "<2k" };
        fixture.Traces.AddRange(
        [
            // refund costs 0.25 × 3 and 2.25: mean 0.75, so 2.25 > 1.5 is high cost.
            refund with
            {
                TraceId = "t-a", HasComplaint = true, FeedbackScore = 0.25, IsError = true, ErrorType = "timeout", CostUsd = 0.25, LatencyMs = 1234,
                SessionId = "s-1", TraceUrl = "https://trace/t-a", InputPreview = "Where is my refund?", StartedAt = At(2026, 11, 12, 9, 30),
            },
            refund with { TraceId = "t-b", HasJsonParseFailure = true, HasToolParseFailure = true, CostUsd = 0.25 },
            refund with { TraceId = "t-c", FeedbackScore = 0.75, CostUsd = 0.25 },
            refund with { TraceId = "t-d", FeedbackScore = 0.625, CostUsd = 2.25 },
            refund with { TraceId = "t-e", IsRetrievalEmpty = true },
            // billing costs 1.0 and 1.0: nothing is high cost; feedback 0.5 is not negative.
            refund with { TraceId = "t-f", Feature = "billing", CostUsd = 1.0, FeedbackScore = 0.5 },
            refund with { TraceId = "t-g", Feature = "billing", CostUsd = 1.0, FeedbackScore = 0.25 },
            // shipping: t-h is high cost but has no feedback, so only its error counts.
            refund with { TraceId = "t-h", Feature = "shipping", CostUsd = 4.0, IsError = true },
            refund with { TraceId = "t-i", Feature = "shipping", CostUsd = 0.25 },
            refund with { TraceId = "t-j", Feature = "shipping", CostUsd = 0.25 },
            refund with { TraceId = "t-k", Feature = "shipping", CostUsd = 0.25 },
            // account: every reason at once.
            refund with
            {
                TraceId = "t-z", Feature = "account", HasComplaint = true, FeedbackScore = 0.125, HasJsonParseFailure = true, HasToolParseFailure = true,
                IsError = true, IsRetrievalEmpty = true, CostUsd = 3.0,
            },
            refund with { TraceId = "t-z2", Feature = "account", CostUsd = 0.0, FeedbackScore = 1.0 },
            refund with { TraceId = "t-z3", Feature = "account", CostUsd = 0.0, FeedbackScore = 1.0 },
            // Already linked: to an eval record, and to a lock.
            refund with { TraceId = "t-x", Feature = "returns", HasComplaint = true },
            refund with { TraceId = "t-y", Feature = "returns", HasComplaint = true },
        ]);
        fixture.Evals.Add(new EvalRow { CaseId = "seeded-1", SourceTraceId = "t-x", Score = 1.0 });
        fixture.Locks.Add(new LockRow("lock-y", "golden", "seeded-2", SourceTraceId: "t-y"));
        await LoadAsync(fixture);

        var rows = await QueryAsync("select * from quality.seed_candidates");

        var expected = new Dictionary<string, (string Reason, string Reasons, long Priority)>
        {
            ["t-a"] = ("complaint", "complaint,negative_feedback,error", 110),
            ["t-b"] = ("json_parse_failure", "json_parse_failure,tool_parse_failure", 75),
            ["t-d"] = ("high_cost_low_feedback", "high_cost_low_feedback", 40),
            ["t-e"] = ("retrieval_empty", "retrieval_empty", 50),
            ["t-g"] = ("negative_feedback", "negative_feedback", 80),
            ["t-h"] = ("error", "error", 60),
            ["t-z"] = ("complaint", "complaint,negative_feedback,json_parse_failure,tool_parse_failure,error,retrieval_empty,high_cost_low_feedback", 130),
        };
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), rows.Select(row => row.Text("trace_id")!).Order(StringComparer.Ordinal));
        var reference = ViewReference.SeedCandidates(fixture).ToDictionary(seed => seed.Trace.TraceId, seed => (seed.Reason, seed.Reasons, seed.Priority));
        Assert.Equal(expected, reference);
        var differences = new Differences("quality.seed_candidates");
        foreach (var row in rows)
        {
            var id = row.Text("trace_id")!;
            differences.Text(id, "reason", expected[id].Reason, row.Text("reason"));
            differences.Text(id, "reasons", expected[id].Reasons, row.Text("reasons"));
            differences.Long(id, "priority", expected[id].Priority, row.Long("priority"));
        }

        var first = rows.Single(row => row.Text("trace_id") == "t-a");
        differences.Text("t-a", "source", "langfuse", first.Text("source"));
        differences.Text("t-a", "started_at", At(2026, 11, 12, 9, 30).ToString("O"), first.Time("started_at")?.ToString("O"));
        differences.Text("t-a", "prompt_version", "p1", first.Text("prompt_version"));
        differences.Text("t-a", "feature", "refund", first.Text("feature"));
        differences.Text("t-a", "customer_tier", "enterprise", first.Text("customer_tier"));
        differences.Text("t-a", "context_band", "<2k", first.Text("context_band"));
        differences.Text("t-a", "output_format", "unknown", first.Text("output_format"));
        differences.Text("t-a", "has_complaint", "True", first.Bool("has_complaint")?.ToString());
        differences.Text("t-a", "is_error", "True", first.Bool("is_error")?.ToString());
        differences.Number("t-a", "feedback_score", 0.25, first.Double("feedback_score"), ValueTolerance);
        differences.Text("t-a", "error_type", "timeout", first.Text("error_type"));
        differences.Number("t-a", "latency_ms", 1234, first.Double("latency_ms"), ValueTolerance);
        differences.Number("t-a", "cost_usd", 0.25, first.Double("cost_usd"), ValueTolerance);
        differences.Text("t-a", "session_id", "s-1", first.Text("session_id"));
        differences.Text("t-a", "trace_url", "https://trace/t-a", first.Text("trace_url"));
        differences.Text("t-a", "input_preview", "Where is my refund?", first.Text("input_preview"));
        differences.AssertNone();
    }

    // ---------------------------------------------------------------- lock_status

    /// <summary>
    /// Case refund-42 of dataset golden across prompts: p1 passes everything (run r1), p2's second
    /// correctness epoch fails, p3 failed in r4 but passed in the later r5, p4 has two runs at the
    /// same time (the larger run id, r6b, fails), p5 has a score but no is_passed. refund-43 ran on p6.
    /// Comparisons add p9 (never run) and two model versions.
    /// </summary>
    private static ViewFixture LockFixture()
    {
        var fixture = new ViewFixture();
        var record = new EvalRow { CaseId = "refund-42", ModelVersion = "m1" };
        fixture.Evals.AddRange(
        [
            record with { PromptVersion = "p1", RunId = "r1", Epoch = 1, Score = 0.9, IsPassed = true, EvaluatedAt = At(2026, 11, 1) },
            record with { PromptVersion = "p1", RunId = "r1", Epoch = 2, Score = 0.8, IsPassed = true, EvaluatedAt = At(2026, 11, 1) },
            record with { PromptVersion = "p1", RunId = "r1", Metric = "tone", Score = 0.9, IsPassed = true, EvaluatedAt = At(2026, 11, 1) },
            record with { PromptVersion = "p2", RunId = "r2", Epoch = 1, Score = 0.9, IsPassed = true, EvaluatedAt = At(2026, 11, 2) },
            record with { PromptVersion = "p2", RunId = "r2", Epoch = 2, Score = 0.3, IsPassed = false, EvaluatedAt = At(2026, 11, 2) },
            record with { PromptVersion = "p2", RunId = "r2", Metric = "tone", Score = 0.95, IsPassed = true, EvaluatedAt = At(2026, 11, 2) },
            record with { PromptVersion = "p3", RunId = "r4", Score = 0.4, IsPassed = false, EvaluatedAt = At(2026, 11, 4) },
            record with { PromptVersion = "p3", RunId = "r4", Metric = "tone", Score = 0.8, IsPassed = true, EvaluatedAt = At(2026, 11, 4) },
            record with { PromptVersion = "p3", RunId = "r5", Score = 0.9, IsPassed = true, EvaluatedAt = At(2026, 11, 5) },
            record with { PromptVersion = "p4", RunId = "r6a", Score = 0.9, IsPassed = true, EvaluatedAt = At(2026, 11, 6) },
            record with { PromptVersion = "p4", RunId = "r6b", Score = 0.2, IsPassed = false, EvaluatedAt = At(2026, 11, 6) },
            record with { PromptVersion = "p5", RunId = "r7", Score = 0.9, IsPassed = null, EvaluatedAt = At(2026, 11, 7) },
            record with { CaseId = "refund-43", PromptVersion = "p6", RunId = "r8", Score = 0.9, IsPassed = true, EvaluatedAt = At(2026, 11, 8) },
            record with { CaseId = "refund-42", DatasetId = "elsewhere", PromptVersion = "p7", RunId = "r9", Score = 0.9, IsPassed = true },
        ]);
        fixture.Comparisons.Add(new("prompts", "prompt_version", "p1", "p9"));
        fixture.Comparisons.Add(new("models", "model_version", "m-old", "m-new"));
        fixture.Locks.AddRange(
        [
            new LockRow("any-metric", "golden", "refund-42", SourceTraceId: "tr-42", Title: "Refund promised twice", IncidentUrl: "https://incident/42"),
            new LockRow("min-score", "golden", "refund-42", Metric: "correctness", MinScore: 0.85),
            new LockRow("never-run", "golden", "refund-99"),
            new LockRow("tone-only", "golden", "refund-42", Metric: "tone"),
        ]);
        return fixture;
    }

    [Fact]
    public async Task Lock_status_is_passed_failed_or_missing_per_lock_and_version()
    {
        var fixture = LockFixture();
        await LoadAsync(fixture);

        var rows = await QueryAsync("select * from quality.lock_status");

        var expected = new Dictionary<(string Lock, string Key, string Version), string>
        {
            [("any-metric", "prompt_version", "p1")] = "passed",
            [("any-metric", "prompt_version", "p2")] = "failed",
            [("any-metric", "prompt_version", "p3")] = "passed",
            [("any-metric", "prompt_version", "p4")] = "failed",
            [("any-metric", "prompt_version", "p5")] = "failed",
            [("any-metric", "prompt_version", "p6")] = "missing",
            [("any-metric", "prompt_version", "p9")] = "missing",
            [("any-metric", "model_version", "m-old")] = "missing",
            [("min-score", "prompt_version", "p1")] = "failed",
            [("min-score", "prompt_version", "p2")] = "failed",
            [("min-score", "prompt_version", "p3")] = "passed",
            [("min-score", "prompt_version", "p5")] = "passed",
            [("never-run", "prompt_version", "p1")] = "missing",
            [("never-run", "model_version", "m1")] = "missing",
            [("tone-only", "prompt_version", "p3")] = "passed",
            [("tone-only", "prompt_version", "p4")] = "missing",
        };
        var differences = new Differences("quality.lock_status");
        foreach (var ((name, key, version), status) in expected)
        {
            var row = rows.SingleOrDefault(row => row.Text("lock_name") == name && row.Text("version_key") == key && row.Text("version") == version);
            differences.Text($"{name} {key}={version}", "status", status, row?.Text("status") ?? "(no row)");
        }

        // p7 is in another dataset: it is no version of these locks.
        Assert.DoesNotContain(rows, row => row.Text("version") == "p7");
        var p1 = rows.Single(row => row.Text("lock_name") == "any-metric" && row.Text("version") == "p1");
        differences.Long("any-metric p1", "metrics_checked", 2, p1.Long("metrics_checked"));
        differences.Long("any-metric p1", "metrics_failed", 0, p1.Long("metrics_failed"));
        differences.Number("any-metric p1", "lowest_score", 0.8, p1.Double("lowest_score"), ValueTolerance);
        differences.Text("any-metric p1", "last_eval_run_id", "r1", p1.Text("last_eval_run_id"));
        differences.Text("any-metric p1", "last_evaluated_at", At(2026, 11, 1).ToString("O"), p1.Time("last_evaluated_at")?.ToString("O"));
        differences.Text("any-metric p1", "title", "Refund promised twice", p1.Text("title"));
        differences.Text("any-metric p1", "incident_url", "https://incident/42", p1.Text("incident_url"));
        differences.Text("any-metric p1", "source_trace_id", "tr-42", p1.Text("source_trace_id"));
        differences.Text("any-metric p1", "dataset_id", "golden", p1.Text("dataset_id"));
        differences.Text("any-metric p1", "case_id", "refund-42", p1.Text("case_id"));
        differences.Text("any-metric p1", "metric", null, p1.Text("metric"));
        var p2 = rows.Single(row => row.Text("lock_name") == "any-metric" && row.Text("version") == "p2");
        differences.Long("any-metric p2", "metrics_failed", 1, p2.Long("metrics_failed"));
        differences.Number("any-metric p2", "lowest_score", 0.3, p2.Double("lowest_score"), ValueTolerance);
        var p4 = rows.Single(row => row.Text("lock_name") == "any-metric" && row.Text("version") == "p4");
        differences.Text("any-metric p4", "last_eval_run_id", "r6b", p4.Text("last_eval_run_id"));
        var minScore = rows.Single(row => row.Text("lock_name") == "min-score" && row.Text("version") == "p1");
        differences.Number("min-score p1", "min_score", 0.85, minScore.Double("min_score"), ValueTolerance);
        differences.Text("min-score p1", "metric", "correctness", minScore.Text("metric"));
        differences.Long("min-score p1", "metrics_checked", 1, minScore.Long("metrics_checked"));

        var reference = ViewReference.LockStatus(fixture);
        differences.Long("all", "row count", reference.Count, rows.Count);
        foreach (var lockStatus in reference)
        {
            var label = $"{lockStatus.Lock.Name} {lockStatus.VersionKey}={lockStatus.Version}";
            var row = rows.SingleOrDefault(row => row.Text("lock_name") == lockStatus.Lock.Name && row.Text("version_key") == lockStatus.VersionKey
                && row.Text("version") == lockStatus.Version);
            if (row is null)
            {
                differences.Add($"{label}: no row");
                continue;
            }

            differences.Text(label, "status", lockStatus.Status, row.Text("status"));
            if (lockStatus.Status != "missing")
            {
                differences.Long(label, "metrics_checked", lockStatus.MetricsChecked, row.Long("metrics_checked"));
                differences.Long(label, "metrics_failed", lockStatus.MetricsFailed, row.Long("metrics_failed"));
                differences.Number(label, "lowest_score", lockStatus.LowestScore, row.Double("lowest_score"), ValueTolerance);
                differences.Text(label, "last_evaluated_at", lockStatus.LastEvaluatedAt?.ToString("O"), row.Time("last_evaluated_at")?.ToString("O"));
                if (lockStatus.LatestRunIds.Count == 1)
                {
                    differences.Text(label, "last_eval_run_id", lockStatus.LatestRunIds[0], row.Text("last_eval_run_id"));
                }
            }
        }

        differences.AssertNone();
    }

    // ---------------------------------------------------------------- helpers

    private Task<List<ViewRow>> DeltaRowsAsync() => QueryAsync("select * from quality.slice_deltas");

    private static ViewRow Delta(List<ViewRow> rows, string comparison, string side, string metric, string level,
        string feature = "*", string intent = "*", string language = "*", string tier = "*", string band = "*")
    {
        var found = rows.Where(row => row.Text("comparison_name") == comparison && row.Text("side") == side && row.Text("metric") == metric
            && row.Text("slice_level") == level && row.Text("feature") == feature && row.Text("intent") == intent && row.Text("language") == language
            && row.Text("customer_tier") == tier && row.Text("context_band") == band).ToList();
        Assert.True(found.Count == 1, $"slice_deltas should have one row for {comparison} {side} {metric} {level}({feature}|{intent}|{language}|{tier}|{band}); it has {found.Count}");
        return found[0];
    }

    /// <summary>Every row of slice_deltas against the reference: no row missing, none extra, every column.</summary>
    private static void AssertDeltasMatchReference(ViewFixture fixture, List<ViewRow> rows)
    {
        var expected = ViewReference.SliceDeltas(fixture);
        var differences = new Differences("quality.slice_deltas against the reference");
        var actual = rows.GroupBy(row => (row.Text("comparison_name")!, row.Text("side")!, row.Text("metric")!, row.Slice()))
            .ToDictionary(group => group.Key, group => group.ToList());
        foreach (var duplicate in actual.Where(pair => pair.Value.Count > 1))
        {
            differences.Add($"{duplicate.Key}: {duplicate.Value.Count} rows");
        }

        var expectedKeys = expected.Select(row => (row.ComparisonName, row.Side, row.Metric, row.Slice)).ToHashSet();
        foreach (var extra in actual.Keys.Where(key => !expectedKeys.Contains(key)))
        {
            differences.Add($"{extra}: a row the spec does not call for ({actual[extra][0]})");
        }

        foreach (var row in expected)
        {
            var label = $"{row.ComparisonName} {row.Side} {row.Metric} {row.Slice}";
            if (!actual.TryGetValue((row.ComparisonName, row.Side, row.Metric, row.Slice), out var found))
            {
                differences.Add($"{label}: no row");
                continue;
            }

            var view = found[0];
            differences.Text(label, "compare_key", row.CompareKey, view.Text("compare_key"));
            differences.Text(label, "baseline", row.Baseline, view.Text("baseline"));
            differences.Text(label, "candidate", row.Candidate, view.Text("candidate"));
            differences.Text(label, "higher_is_better", row.HigherIsBetter.ToString(), view.Bool("higher_is_better")?.ToString());
            differences.Long(label, "n_baseline", row.NBaseline, view.Long("n_baseline"));
            differences.Long(label, "n_candidate", row.NCandidate, view.Long("n_candidate"));
            differences.Long(label, "n_pairs", row.NPairs, view.Long("n_pairs"));
            differences.Long(label, "cases_regressed", row.CasesRegressed, view.Long("cases_regressed"));
            differences.Long(label, "cases_improved", row.CasesImproved, view.Long("cases_improved"));
            differences.Number(label, "value_baseline", row.ValueBaseline, view.Double("value_baseline"), ValueTolerance);
            differences.Number(label, "value_candidate", row.ValueCandidate, view.Double("value_candidate"), ValueTolerance);
            differences.Number(label, "delta", row.Delta, view.Double("delta"), ValueTolerance);
            differences.Number(label, "ci_low", row.CiLow, view.Double("ci_low"), ValueTolerance);
            differences.Number(label, "ci_high", row.CiHigh, view.Double("ci_high"), ValueTolerance);
            differences.Text(label, "statistical_test", row.StatisticalTest, view.Text("statistical_test"));
            differences.Number(label, "z_score", row.ZScore, view.Double("z_score"), 1e-9 * Math.Max(1, Math.Abs(row.ZScore ?? 0)));
            differences.Number(label, "p_value", row.PValue, view.Double("p_value"), PTolerance);
            // p_adjusted multiplies a p-value by at most the family size m, and the SQL's p carries
            // up to 1.5e-7 of A&S error, so the tolerance scales with m.
            var family = ViewReference.FamilySize(expected, row);
            differences.Number(label, "p_adjusted", row.PAdjusted, view.Double("p_adjusted"), PTolerance * Math.Max(1, family));
            var borderline = row.PAdjusted is { } adjusted && Math.Abs(adjusted - StatisticsReference.SignificanceLevel) <= PTolerance * Math.Max(1, family);
            if (!borderline)
            {
                differences.Text(label, "verdict", row.Verdict, view.Text("verdict"));
            }
        }

        differences.AssertNone();
    }

    private static void AssertDivergencesMatchReference(ViewFixture fixture, List<ViewRow> rows, string comparison)
    {
        var deltas = ViewReference.SliceDeltas(fixture);
        var expected = ViewReference.Divergences(deltas).Where(row => row.ComparisonName == comparison).ToList();
        var differences = new Differences("quality.divergences against the reference");
        differences.Long(comparison, "row count", expected.Count, rows.Count);
        foreach (var divergence in expected)
        {
            var label = $"{comparison} {divergence.Slice}";
            var row = rows.SingleOrDefault(row => row.Slice() == divergence.Slice);
            if (row is null)
            {
                differences.Add($"{label}: no row");
                continue;
            }

            differences.Text(label, "divergence_type", divergence.DivergenceType, row.Text("divergence_type"));
            foreach (var (prefix, side, verdict) in new[] { ("offline", divergence.Offline, divergence.OfflineVerdict), ("online", divergence.Online, divergence.OnlineVerdict) })
            {
                var family = ViewReference.FamilySize(deltas, side);
                differences.Text(label, $"{prefix}_metric", side.Metric, row.Text($"{prefix}_metric"));
                differences.Number(label, $"{prefix}_value_baseline", side.ValueBaseline, row.Double($"{prefix}_value_baseline"), ValueTolerance);
                differences.Number(label, $"{prefix}_value_candidate", side.ValueCandidate, row.Double($"{prefix}_value_candidate"), ValueTolerance);
                differences.Number(label, $"{prefix}_delta", side.Delta, row.Double($"{prefix}_delta"), ValueTolerance);
                differences.Number(label, $"{prefix}_ci_low", side.CiLow, row.Double($"{prefix}_ci_low"), ValueTolerance);
                differences.Number(label, $"{prefix}_ci_high", side.CiHigh, row.Double($"{prefix}_ci_high"), ValueTolerance);
                differences.Number(label, $"{prefix}_p_adjusted", side.PAdjusted, row.Double($"{prefix}_p_adjusted"), PTolerance * Math.Max(1, family));
                differences.Text(label, $"{prefix}_verdict", verdict, row.Text($"{prefix}_verdict"));
            }
        }

        differences.AssertNone();
    }
}

public sealed class DuckDbViewTests : ViewSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class PostgresViewTests : ViewSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class SqlServerViewTests : ViewSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
