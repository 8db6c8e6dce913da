namespace Warehouse.Reporting;

/// <summary>One slice of a comparison: its level and the six labels (<c>*</c> = all).</summary>
public sealed record SliceKey(string Level, string Feature, string Intent, string Language, string CustomerTier, string OutputFormat, string ContextBand)
{
    public static readonly string[] LabelColumns = ["feature", "intent", "language", "customer_tier", "output_format", "context_band"];

    // Coarse to fine, so the forest plot reads from the whole product down to its corners.
    private static readonly string[] LevelOrder =
        ["overall", "feature", "feature_customer_tier", "feature_context_band", "feature_intent", "feature_language", "customer_tier", "context_band"];

    public static SliceKey From(ReportRow row) => new(
        row.Label("slice_level"), row.Label("feature"), row.Label("intent"), row.Label("language"),
        row.Label("customer_tier"), row.Label("output_format"), row.Label("context_band"));

    /// <summary>"overall", or the labels that are not rolled up: "refund_request · enterprise".</summary>
    public string Display
    {
        get
        {
            var parts = new[] { Feature, Intent, Language, CustomerTier, OutputFormat, ContextBand }.Where(label => label != "*").ToList();
            return parts.Count == 0 ? "overall" : string.Join(" · ", parts);
        }
    }

    public int LevelRank
    {
        get
        {
            var index = Array.IndexOf(LevelOrder, Level);
            return index < 0 ? LevelOrder.Length : index;
        }
    }
}

/// <summary>One row of quality.slice_deltas, typed.</summary>
public sealed record SliceDelta(
    string Side, string Metric, bool HigherIsBetter, SliceKey Slice, long? BaselineCount, long? CandidateCount,
    double? BaselineValue, double? CandidateValue, double? Delta, double? CiLow, double? CiHigh, double? PAdjusted, string Verdict)
{
    public static SliceDelta From(ReportRow row) => new(
        row.Label("side"), row.Label("metric"), row.Flag("higher_is_better") ?? true, SliceKey.From(row),
        row.Count("n_baseline"), row.Count("n_candidate"), row.Number("value_baseline"), row.Number("value_candidate"),
        row.Number("delta"), row.Number("ci_low"), row.Number("ci_high"), row.Number("p_adjusted"), row.Label("verdict"));

    public bool IsDefinite => Verdict is "regressed" or "improved";
}

/// <summary>How one side of a comparison came out, for the headline.</summary>
public sealed record SideVerdict(string Side, long Rows, long Regressed, long Improved, long Unchanged, long InsufficientData)
{
    /// <summary>regressed beats improved beats unchanged; no rows or only too-small slices is "no evidence".</summary>
    public string Word => Rows == 0 ? "no data"
        : Regressed > 0 ? "regressed"
        : Improved > 0 ? "improved"
        : Unchanged > 0 ? "unchanged"
        : "insufficient data";
}

/// <summary>
/// What the report says about one comparison, derived from the saved queries' rows: the headline
/// verdicts, the metric each forest panel shows, and which slices the forest plot draws.
/// </summary>
public sealed class ComparisonSummary
{
    /// <summary>The forest plot's rows: enough to see where it went wrong without drowning in slices.</summary>
    public const int MaxForestSlices = 24;

    public const string OnlineMainMetric = "complaint_rate";

    public required ReportComparison Comparison { get; init; }
    public required IReadOnlyList<SliceDelta> Deltas { get; init; }
    public required SideVerdict Offline { get; init; }
    public required SideVerdict Online { get; init; }
    public string? OfflineMetric { get; init; }
    public string? OnlineMetric { get; init; }
    public required IReadOnlyList<SliceKey> ForestSlices { get; init; }

    public static ComparisonSummary Build(ReportComparison comparison, IEnumerable<ReportRow> headline, IEnumerable<ReportRow> deltaRows)
    {
        var deltas = deltaRows.Select(SliceDelta.From).ToList();
        var verdicts = headline.ToDictionary(row => row.Label("side"), row => new SideVerdict(
            row.Label("side"), row.Count("n_rows") ?? 0, row.Count("n_regressed") ?? 0, row.Count("n_improved") ?? 0,
            row.Count("n_unchanged") ?? 0, row.Count("n_insufficient_data") ?? 0));
        var offlineMetric = MainMetric(deltas, "offline", preferred: null);
        var onlineMetric = MainMetric(deltas, "online", preferred: OnlineMainMetric);
        return new ComparisonSummary
        {
            Comparison = comparison,
            Deltas = deltas,
            Offline = verdicts.GetValueOrDefault("offline") ?? new SideVerdict("offline", 0, 0, 0, 0, 0),
            Online = verdicts.GetValueOrDefault("online") ?? new SideVerdict("online", 0, 0, 0, 0, 0),
            OfflineMetric = offlineMetric,
            OnlineMetric = onlineMetric,
            ForestSlices = ChooseForestSlices(deltas, offlineMetric, onlineMetric),
        };
    }

    public SliceDelta? Overall(string side, string? metric) =>
        metric is null ? null : Deltas.FirstOrDefault(delta => delta.Side == side && delta.Metric == metric && delta.Slice.Level == "overall");

    public SliceDelta? Find(string side, string? metric, SliceKey slice) =>
        metric is null ? null : Deltas.FirstOrDefault(delta => delta.Side == side && delta.Metric == metric && delta.Slice == slice);

    /// <summary>Every regressed or improved row, regressions first, strongest evidence first.</summary>
    public IReadOnlyList<SliceDelta> DefiniteRows =>
        Deltas.Where(delta => delta.IsDefinite)
            .OrderBy(delta => delta.Verdict == "regressed" ? 0 : 1)
            .ThenBy(delta => delta.PAdjusted ?? 1)
            .ThenBy(delta => delta.Side, StringComparer.Ordinal)
            .ThenBy(delta => delta.Metric, StringComparer.Ordinal)
            .ThenBy(delta => delta.Slice.LevelRank)
            .ThenBy(delta => delta.Slice.Display, StringComparer.Ordinal)
            .ToList();

    /// <summary>
    /// The metric a side's panel shows: the preferred one when the side has it; else the metric with
    /// the most regressed or improved slices, then the most observations overall, pass rates before mean
    /// scores (a pass rate reads as "how many cases"), then by name so the choice is stable.
    /// </summary>
    private static string? MainMetric(List<SliceDelta> deltas, string side, string? preferred)
    {
        var sideRows = deltas.Where(delta => delta.Side == side).ToList();
        if (preferred is not null && sideRows.Any(delta => delta.Metric == preferred))
        {
            return preferred;
        }

        return sideRows
            .GroupBy(delta => delta.Metric)
            .OrderByDescending(group => group.Count(delta => delta.IsDefinite))
            .ThenByDescending(group => group.Where(delta => delta.Slice.Level == "overall").Select(delta => delta.CandidateCount ?? 0).DefaultIfEmpty(0).Max())
            .ThenBy(group => group.Key.StartsWith("pass_rate:", StringComparison.Ordinal) ? 0 : 1)
            .ThenBy(group => group.Key, StringComparer.Ordinal)
            .Select(group => group.Key)
            .FirstOrDefault();
    }

    /// <summary>
    /// Overall first; then every slice where either panel's metric regressed or improved; then, up to
    /// the cap, the slices with the strongest evidence on either panel, so a quiet comparison still
    /// shows its intervals. Ordered coarse to fine, then by label.
    /// </summary>
    private static List<SliceKey> ChooseForestSlices(List<SliceDelta> deltas, string? offlineMetric, string? onlineMetric)
    {
        var panelRows = deltas.Where(delta =>
            (delta.Side == "offline" && delta.Metric == offlineMetric) || (delta.Side == "online" && delta.Metric == onlineMetric)).ToList();
        var chosen = new List<SliceKey>();
        void Add(SliceKey slice)
        {
            if (!chosen.Contains(slice) && chosen.Count < MaxForestSlices)
            {
                chosen.Add(slice);
            }
        }

        foreach (var overall in panelRows.Where(delta => delta.Slice.Level == "overall"))
        {
            Add(overall.Slice);
        }

        foreach (var definite in panelRows.Where(delta => delta.IsDefinite).OrderBy(delta => delta.Verdict == "regressed" ? 0 : 1).ThenBy(delta => delta.PAdjusted ?? 1))
        {
            Add(definite.Slice);
        }

        foreach (var strongest in panelRows.Where(delta => delta.Verdict != "insufficient_data" && delta.Delta is not null).OrderBy(delta => delta.PAdjusted ?? 1))
        {
            if (chosen.Count >= Math.Min(MaxForestSlices, 16))
            {
                break;
            }

            Add(strongest.Slice);
        }

        return chosen
            .OrderBy(slice => slice.LevelRank)
            .ThenBy(slice => slice.Display, StringComparer.Ordinal)
            .ToList();
    }
}
