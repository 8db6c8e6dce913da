using Warehouse.Loading;

namespace Warehouse.Benchmarks.Generation;

/// <summary>An eval case: its slice labels, as the golden set tags them.</summary>
internal sealed record SyntheticCase(
    long Index,
    string CaseId,
    string DatasetId,
    string Feature,
    string Intent,
    string Language,
    string CustomerTier,
    string OutputFormat,
    long ContextTokens,
    string? SourceTraceId,
    double Difficulty)
{
    public string ContextBand => ContextBands.FromTokens(ContextTokens);
}

/// <summary>One eval record: a case run on one prompt version and graded on one metric.</summary>
internal sealed record SyntheticEval(
    SyntheticCase Case,
    string PromptVersion,
    string EvalRunId,
    string Metric,
    double Score,
    bool IsPassed,
    double LatencyMs,
    double CostUsd,
    long InputTokens,
    long OutputTokens,
    DateTime EvaluatedAt);

/// <summary>
/// The offline side: every case of the golden sets run on the baseline (refund-v3) and the
/// candidate (refund-v4), graded on correctness (a continuous judge score) and refusal_policy
/// (pass/fail), so slice_deltas pairs cases. The eval mix is short-context and consumer heavy,
/// unlike production, so slice_mix and coverage_gaps have something to say; 2 % of cases were
/// seeded from production traces (source_trace_id).
/// </summary>
internal sealed class SyntheticEvals(int seed, long count, SyntheticTraces traces)
{
    public const string Baseline = "refund-v3";
    public const string Candidate = "refund-v4";
    public const string ModelVersion = "gpt-4o-2024-08-06";
    public const string JudgeVersion = "judge-gpt-4o-2026-09";
    public static readonly string[] Versions = [Baseline, Candidate];
    public static readonly string[] Metrics = ["correctness", "refusal_policy"];

    private static readonly DateTime EvaluatedFrom = new(2026, 11, 20, 9, 0, 0, DateTimeKind.Utc);

    private static readonly Weighted<string>[] Datasets = [new("refund-golden", 0.6), new("billing-golden", 0.25), new("long-context-probe", 0.15)];

    private static readonly Weighted<string>[] Features =
    [
        new("refund_request", 0.4), new("order_status", 0.2), new("billing_dispute", 0.2),
        new("shipping_delay", 0.1), new("account_change", 0.06), new("product_question", 0.04),
    ];

    private static readonly Dictionary<string, Weighted<string>[]> IntentsByFeature = new(StringComparer.Ordinal)
    {
        ["refund_request"] = [new("request_refund", 0.7), new("ask_policy", 0.25), new("escalate", 0.05)],
        ["order_status"] = [new("check_status", 0.9), new("complain", 0.1)],
        ["billing_dispute"] = [new("dispute_charge", 0.7), new("request_refund", 0.3)],
        ["shipping_delay"] = [new("check_status", 0.8), new("complain", 0.2)],
        ["account_change"] = [new("update_details", 1.0)],
        ["product_question"] = [new("ask_policy", 0.6), new("compare_products", 0.4)],
    };

    private static readonly Weighted<string>[] Languages = [new("en", 0.8), new("de", 0.08), new("fr", 0.06), new("es", 0.06)];

    private static readonly Weighted<string>[] Tiers = [new("consumer", 0.8), new("business", 0.15), new("enterprise", 0.05)];

    private static readonly Weighted<(long Min, long Max)>[] ContextSizes =
        [new((150, 2048), 0.72), new((2048, 8192), 0.2), new((8192, 32768), 0.07), new((32768, 100_000), 0.01)];

    public int Seed { get; } = seed;

    /// <summary>Eval records (rows); cases = records / 4 rounded up (2 versions × 2 metrics).</summary>
    public long Count { get; } = count;

    public long Cases => (Count + 3) / 4;

    public SyntheticCase Case(long index)
    {
        var rng = Rng.For(Seed, index, salt: 2);
        string? sourceTrace = rng.Chance(0.02) && traces.Count > 0 ? traces.TraceId(rng.Between(0, traces.Count)) : null;
        var (min, max) = rng.Pick(ContextSizes);
        var dataset = rng.Pick(Datasets);
        var feature = rng.Pick(Features);
        return new SyntheticCase(index, $"case-{index:D7}", dataset, feature, rng.Pick(IntentsByFeature[feature]),
            rng.Pick(Languages), rng.Pick(Tiers), rng.NextDouble() < 0.25 ? "json" : "text", rng.Between(min, max), sourceTrace,
            Difficulty: rng.NextDouble());
    }

    /// <summary>Row <paramref name="row"/> in file order: version, then case, then metric.</summary>
    public SyntheticEval Get(long row)
    {
        var perVersion = Cases * Metrics.Length;
        var version = (int)(row / perVersion);
        var caseIndex = row % perVersion / Metrics.Length;
        var metric = (int)(row % Metrics.Length);
        return Outcome(Case(caseIndex), version, metric);
    }

    /// <summary>The graded outcome of a case on a version and metric (the same draw in every format).</summary>
    public SyntheticEval Outcome(SyntheticCase evalCase, int version, int metric)
    {
        var rng = Rng.For(Seed, evalCase.Index * 8 + version * 2 + metric, salt: 3);
        var prompt = Versions[version];
        // The candidate is better offline (+0.05 on correctness, a little safer on refusals).
        var lift = version == 1 ? 0.05 : 0.0;
        double score;
        bool passed;
        if (metric == 0)
        {
            score = Math.Clamp(0.92 - 0.45 * evalCase.Difficulty + lift + (rng.NextDouble() - 0.5) * 0.3, 0, 1);
            score = Math.Round(score, 3);
            passed = score >= 0.5;
        }
        else
        {
            passed = rng.Chance(0.9 + lift / 2);
            score = passed ? 1 : 0;
        }

        var output = 60 + (long)rng.Exponential(220);
        return new SyntheticEval(evalCase, prompt, $"bench-{prompt}", Metrics[metric], score, passed,
            LatencyMs: Math.Round(400 + evalCase.ContextTokens * 0.04 + output * 18 + rng.Exponential(500), 1),
            CostUsd: Math.Round(((evalCase.ContextTokens + 200) * 2.5 + output * 10.0) / 1_000_000, 6),
            InputTokens: evalCase.ContextTokens + 200,
            OutputTokens: output,
            EvaluatedAt: EvaluatedFrom.AddHours(version * 6).AddTicks(evalCase.Index * TimeSpan.TicksPerMillisecond * 37));
    }
}
