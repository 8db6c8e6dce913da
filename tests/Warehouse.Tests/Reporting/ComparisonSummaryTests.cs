using Warehouse.Reporting;

namespace Warehouse.Tests.Reporting;

/// <summary>
/// What the report chooses to show for a comparison, from slice_deltas rows alone: the headline
/// verdict per side, the metric of each forest panel, which slices the forest plot draws (capped,
/// overall first, every definite verdict kept), and the units values and deltas are written in.
/// </summary>
public sealed class ComparisonSummaryTests
{
    private static readonly ReportComparison Comparison = new("c", "prompt_version", "v3", "v4", null, null, null, null);

    private static ReportRow Delta(string side, string metric, string level, string feature, string tier, string verdict,
        double delta = 0.01, double? p = 0.5, long n = 100) =>
        new(new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase)
        {
            ["comparison_name"] = "c", ["side"] = side, ["metric"] = metric, ["higher_is_better"] = side == "offline",
            ["slice_level"] = level, ["feature"] = feature, ["intent"] = "*", ["language"] = "*", ["customer_tier"] = tier,
            ["output_format"] = "*", ["context_band"] = "*", ["n_baseline"] = n, ["n_candidate"] = n,
            ["value_baseline"] = 0.5, ["value_candidate"] = 0.5 + delta, ["delta"] = delta, ["ci_low"] = delta - 0.01,
            ["ci_high"] = delta + 0.01, ["p_adjusted"] = p, ["verdict"] = verdict,
        });

    private static ReportRow Headline(string side, long rows, long regressed, long improved, long unchanged, long insufficient) =>
        new(new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase)
        {
            ["comparison_name"] = "c", ["side"] = side, ["n_rows"] = rows, ["n_regressed"] = regressed,
            ["n_improved"] = improved, ["n_unchanged"] = unchanged, ["n_insufficient_data"] = insufficient,
        });

    [Fact]
    public void Summary_picks_complaint_rate_online_and_the_offline_metric_with_most_definite_verdicts()
    {
        var rows = new[]
        {
            Delta("offline", "mean_score:tone", "overall", "*", "*", "unchanged", n: 900),
            Delta("offline", "pass_rate:correctness", "overall", "*", "*", "improved", p: 0.001),
            Delta("offline", "pass_rate:correctness", "feature", "refund", "*", "improved", p: 0.01),
            Delta("online", "mean_latency_ms", "overall", "*", "*", "regressed", p: 0.0001),
            Delta("online", "complaint_rate", "overall", "*", "*", "unchanged"),
        };

        var summary = ComparisonSummary.Build(Comparison, [], rows);

        Assert.Equal("pass_rate:correctness", summary.OfflineMetric);
        Assert.Equal("complaint_rate", summary.OnlineMetric);
        Assert.Equal("no data", summary.Offline.Word);
    }

    [Fact]
    public void Summary_without_complaint_rate_falls_back_to_the_most_regressed_online_metric()
    {
        var rows = new[]
        {
            Delta("online", "error_rate", "overall", "*", "*", "unchanged"),
            Delta("online", "mean_latency_ms", "overall", "*", "*", "regressed", p: 0.001),
        };

        Assert.Equal("mean_latency_ms", ComparisonSummary.Build(Comparison, [], rows).OnlineMetric);
    }

    [Fact]
    public void Side_verdict_is_regressed_before_improved_before_unchanged()
    {
        var summary = ComparisonSummary.Build(Comparison,
            [Headline("offline", 10, 0, 2, 8, 0), Headline("online", 10, 1, 3, 6, 0)], []);

        Assert.Equal("improved", summary.Offline.Word);
        Assert.Equal("regressed", summary.Online.Word);
        Assert.Equal("insufficient data", new SideVerdict("offline", 4, 0, 0, 0, 4).Word);
    }

    [Fact]
    public void Forest_keeps_overall_first_and_every_definite_slice_within_the_cap()
    {
        var rows = new List<ReportRow> { Delta("online", "complaint_rate", "overall", "*", "*", "regressed", p: 0.001) };
        for (var index = 0; index < 40; index++)
        {
            rows.Add(Delta("online", "complaint_rate", "feature_customer_tier", $"f{index:D2}", "enterprise", index < 5 ? "regressed" : "unchanged", p: 0.2 + index / 100.0));
        }

        var summary = ComparisonSummary.Build(Comparison, [], rows);

        Assert.Equal("overall", summary.ForestSlices[0].Display);
        Assert.True(summary.ForestSlices.Count <= ComparisonSummary.MaxForestSlices);
        foreach (var feature in new[] { "f00", "f01", "f02", "f03", "f04" })
        {
            Assert.Contains(summary.ForestSlices, slice => slice.Feature == feature);
        }

        Assert.Equal(summary.ForestSlices.Count, summary.ForestSlices.Distinct().Count());
    }

    [Fact]
    public void Slice_display_names_the_labels_that_are_not_rolled_up()
    {
        Assert.Equal("overall", new SliceKey("overall", "*", "*", "*", "*", "*", "*").Display);
        Assert.Equal("refund · enterprise", new SliceKey("feature_customer_tier", "refund", "*", "*", "enterprise", "*", "*").Display);
    }

    [Theory]
    [InlineData("complaint_rate", 0.0412, "4.1 %")]
    [InlineData("pass_rate:correctness", 0.895, "89.5 %")]
    [InlineData("mean_latency_ms", 4836.2, "4,836 ms")]
    [InlineData("mean_cost_usd", 0.03152, "$0.0315")]
    public void Values_are_written_in_the_metric_unit(string metric, double value, string expected) =>
        Assert.Equal(expected, HtmlReport.FormatValue(metric, value));

    [Theory]
    [InlineData("complaint_rate", 0.023, "+2.3 pp")]
    [InlineData("complaint_rate", -0.004, "−0.4 pp")]
    [InlineData("mean_latency_ms", 595.4, "+595 ms")]
    [InlineData("complaint_rate", double.NaN, "–")]
    public void Deltas_are_written_in_points_or_units(string metric, double value, string expected) =>
        Assert.Equal(expected, HtmlReport.FormatDelta(metric, value));

    [Fact]
    public void Html_escaping_covers_quotes_for_attribute_values() =>
        Assert.Equal("&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;", HtmlReport.H("<a href=\"x\" onclick='y'>&"));
}
