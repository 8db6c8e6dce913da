using Warehouse.Tests.Support;

namespace Warehouse.Tests.Views;

/// <summary>
/// Does slice_deltas keep its promises in aggregate? (a) A/A: when baseline and candidate come from
/// the same distributions, Holm keeps the chance that a comparison × side shows any verdict other
/// than unchanged at 5 % or less. (b) Power: a real regression of a few points in one feature, with
/// a few hundred observations per arm, is flagged in at least 90 % of repetitions. DuckDB only;
/// every repetition is one registered comparison, all loaded in one eval file and one trace file,
/// and the view is queried once per test.
/// </summary>
public sealed class SimulationTests
{
    // 3 features × 2 tiers × 3 bands = 18 cells; intent and language are fixed per feature, so the
    // delta levels give 1 + 3 + 3 + 6 + 3 + 9 = 25 slices per side.
    private static readonly (string Feature, string Intent)[] Features = [("refund", "refund_request"), ("billing", "invoice"), ("shipping", "track")];
    private static readonly string[] Tiers = ["enterprise", "consumer"];
    private static readonly string[] Bands = ["<2k", "2k-8k", "8k-32k"];

    private const int SlicesPerSide = 25;
    private const int OnlineMetrics = 7;
    private const int OfflineMetrics = 2;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>How one repetition's data is drawn.</summary>
    private sealed record Design(
        int TracesPerCell,
        int RegressedTracesPerCell,
        double ErrorRate,
        double RegressedErrorRate,
        int CasesPerCell,
        int RegressedCasesPerCell,
        double PassToFail,
        double FailToPass,
        double RegressedPassToFail,
        double RegressedFailToPass);

    private const double BaselinePassRate = 0.85;

    // A/A: the candidate keeps the baseline's outcome except for symmetric flips:
    // P(pass→fail) · 0.85 = P(fail→pass) · 0.15 = 0.0425, so both arms pass 85 % of cases.
    private static readonly Design SameDistributions = new(
        TracesPerCell: 20, RegressedTracesPerCell: 20, ErrorRate: 0.05, RegressedErrorRate: 0.05,
        CasesPerCell: 20, RegressedCasesPerCell: 20,
        PassToFail: 0.05, FailToPass: 0.0425 / 0.15, RegressedPassToFail: 0.05, RegressedFailToPass: 0.0425 / 0.15);

    // Power: refund errors 2 % → 10 % on 6 cells × 120 = 720 traces per arm; refund pass rate drops
    // 8 points on 6 × 80 = 480 paired cases (9 % of cases flip to fail, 1 % to pass).
    private static readonly Design RefundRegression = new(
        TracesPerCell: 20, RegressedTracesPerCell: 120, ErrorRate: 0.02, RegressedErrorRate: 0.10,
        CasesPerCell: 20, RegressedCasesPerCell: 80,
        PassToFail: 0.05, FailToPass: 0.0425 / 0.15, RegressedPassToFail: 0.09 / 0.85, RegressedFailToPass: 0.01 / 0.15);

    /// <summary>
    /// 100 repetitions × 18 cells × 20 traces and 20 paired cases per arm. The smallest slices
    /// (feature × band: 2 cells) have 40 observations per arm, so every row has a verdict (≥ 30).
    /// Holm bounds the family-wise error of each comparison × side (175 online rows, 50 offline) at
    /// 5 % whatever the dependence between rows; nested slices share data, so the bound is loose and
    /// the expected share is a few percent. With 100 repetitions the observed share is asserted ≤ 5 %.
    /// </summary>
    [Fact]
    public async Task Same_distributions_rarely_give_a_verdict_other_than_unchanged()
    {
        const int repetitions = 100;
        var rows = await RunAsync(SameDistributions, repetitions, seed: 20261126);

        Assert.DoesNotContain(rows, row => row.Verdict == "insufficient_data");
        foreach (var side in new[] { ("online", OnlineMetrics), ("offline", OfflineMetrics) })
        {
            var perComparison = rows.Where(row => row.Side == side.Item1).GroupBy(row => row.Comparison).ToList();
            Assert.Equal(repetitions, perComparison.Count);
            Assert.All(perComparison, comparison => Assert.Equal(SlicesPerSide * side.Item2, comparison.Count()));
            var flagged = perComparison.Count(comparison => comparison.Any(row => row.Verdict is "regressed" or "improved"));
            var share = (double)flagged / repetitions;
            Assert.True(share <= 0.05,
                $"A/A {side.Item1}: {flagged} of {repetitions} comparisons ({share:P0}) have a regressed or improved row; Holm should keep this at 5 % or less");
            TestContext.Current.TestOutputHelper?.WriteLine($"A/A {side.Item1}: {flagged} of {repetitions} comparisons flagged ({share:P0})");
        }
    }

    /// <summary>
    /// A row's Holm-adjusted p is at most m·p (every earlier p in the order is smaller), so the
    /// regressed refund row is flagged whenever m·p &lt; 0.05.
    /// Online, m = 25 slices × 7 metrics = 175: |z| > Φ⁻¹(1 − 0.05/350) = 3.63. Refund error rate
    /// 0.02 → 0.10 with 720 traces per arm: pooled se = √(0.06·0.94·2/720) = 0.0125, E[z] = 0.08/0.0125
    /// = 6.4, power ≈ Φ(6.4 − 3.63) ≈ 99.7 %.
    /// Offline, m = 25 slices × 2 metrics = 50: |z| > Φ⁻¹(1 − 0.05/100) = 3.29. Paired pass rate on
    /// 480 cases, d = −1 w.p. 0.09 and +1 w.p. 0.01: mean −0.08, sd(d) = √(0.10 − 0.0064) = 0.306,
    /// se = 0.306/√480 = 0.014, E[z] = −5.7, power ≈ Φ(5.7 − 3.29) ≈ 99.3 %.
    /// 40 repetitions; the test asserts ≥ 90 % flagged on each side.
    /// </summary>
    [Fact]
    public async Task A_regression_of_a_few_points_in_one_feature_is_flagged_in_nine_of_ten_repetitions()
    {
        const int repetitions = 40;
        var rows = await RunAsync(RefundRegression, repetitions, seed: 4242);

        foreach (var (side, metric) in new[] { ("online", "error_rate"), ("offline", "pass_rate:correctness") })
        {
            var refund = rows.Where(row => row.Side == side && row.Metric == metric && row.Level == "feature" && row.Feature == "refund").ToList();
            Assert.Equal(repetitions, refund.Count);
            var flagged = refund.Count(row => row.Verdict == "regressed");
            var share = (double)flagged / repetitions;
            Assert.True(share >= 0.9,
                $"power {side} {metric}: refund flagged regressed in {flagged} of {repetitions} repetitions ({share:P0}); expected at least 90 %");
            TestContext.Current.TestOutputHelper?.WriteLine($"power {side} {metric}: {flagged} of {repetitions} flagged ({share:P0})");
        }
    }

    private sealed record VerdictRow(string Comparison, string Side, string Metric, string Level, string Feature, string Verdict);

    private static async Task<List<VerdictRow>> RunAsync(Design design, int repetitions, int seed)
    {
        var fixture = Generate(design, repetitions, new Random(seed));
        await using var database = await TestDatabases.DuckDbAsync();
        using var files = new CanonicalFiles();
        await fixture.LoadAsync(database.Engine, files, Token);
        var rows = await ViewRows.QueryAsync(database.Engine,
            "select comparison_name, side, metric, slice_level, feature, verdict from quality.slice_deltas", Token);
        return rows.Select(row => new VerdictRow(row.Text("comparison_name")!, row.Text("side")!, row.Text("metric")!,
            row.Text("slice_level")!, row.Text("feature")!, row.Text("verdict")!)).ToList();
    }

    private static ViewFixture Generate(Design design, int repetitions, Random random)
    {
        var fixture = new ViewFixture();
        for (var repetition = 0; repetition < repetitions; repetition++)
        {
            var name = $"rep{repetition:D3}";
            fixture.Comparisons.Add(new ComparisonRow(name, "prompt_version", $"{name}-a", $"{name}-b"));
            foreach (var (feature, intent) in Features)
            {
                var regressed = feature == "refund";
                foreach (var tier in Tiers)
                {
                    foreach (var band in Bands)
                    {
                        var cell = $"{name}-{feature}-{tier}-{Array.IndexOf(Bands, band)}";
                        AddTraces(fixture, random, design, name, cell, feature, intent, tier, band, regressed);
                        AddCases(fixture, random, design, name, cell, feature, intent, tier, band, regressed);
                    }
                }
            }
        }

        return fixture;
    }

    private static void AddTraces(ViewFixture fixture, Random random, Design design, string name, string cell,
        string feature, string intent, string tier, string band, bool regressed)
    {
        var count = regressed ? design.RegressedTracesPerCell : design.TracesPerCell;
        foreach (var (arm, errorRate) in new[] { ("a", design.ErrorRate), ("b", regressed ? design.RegressedErrorRate : design.ErrorRate) })
        {
            for (var index = 0; index < count; index++)
            {
                fixture.Traces.Add(new TraceRow
                {
                    TraceId = $"{cell}-{arm}-{index}",
                    PromptVersion = $"{name}-{arm}",
                    Feature = feature,
                    Intent = intent,
                    Language = "en",
                    CustomerTier = tier,
                    ContextBand = band,
                    IsError = random.NextDouble() < errorRate,
                    HasComplaint = random.NextDouble() < 0.05,
                    HasToolParseFailure = random.NextDouble() < 0.03,
                    HasJsonParseFailure = random.NextDouble() < 0.03,
                    IsRetrievalEmpty = random.NextDouble() < 0.05,
                    // Gamma(2)-shaped latency: skewed like real latency, with tails Welch z copes with.
                    LatencyMs = Math.Round(400 - 300 * (Math.Log(1 - random.NextDouble()) + Math.Log(1 - random.NextDouble())), 1),
                    CostUsd = Math.Round(0.01 + 0.02 * random.NextDouble(), 6),
                });
            }
        }
    }

    private static void AddCases(ViewFixture fixture, Random random, Design design, string name, string cell,
        string feature, string intent, string tier, string band, bool regressed)
    {
        var count = regressed ? design.RegressedCasesPerCell : design.CasesPerCell;
        var passToFail = regressed ? design.RegressedPassToFail : design.PassToFail;
        var failToPass = regressed ? design.RegressedFailToPass : design.FailToPass;
        for (var index = 0; index < count; index++)
        {
            var baselinePassed = random.NextDouble() < BaselinePassRate;
            var candidatePassed = baselinePassed ? random.NextDouble() >= passToFail : random.NextDouble() < failToPass;
            var record = new EvalRow
            {
                CaseId = $"{cell}-{index}",
                DatasetId = "golden",
                Feature = feature,
                Intent = intent,
                Language = "en",
                CustomerTier = tier,
                ContextBand = band,
            };
            fixture.Evals.Add(record with { PromptVersion = $"{name}-a", RunId = $"{name}-a", IsPassed = baselinePassed, Score = Score(random, baselinePassed) });
            fixture.Evals.Add(record with { PromptVersion = $"{name}-b", RunId = $"{name}-b", IsPassed = candidatePassed, Score = Score(random, candidatePassed) });
        }
    }

    // A passing answer scores 0.6..1, a failing one 0..0.4, so the score follows the pass outcome.
    private static double Score(Random random, bool passed) => Math.Round(passed ? 0.6 + 0.4 * random.NextDouble() : 0.4 * random.NextDouble(), 6);
}
