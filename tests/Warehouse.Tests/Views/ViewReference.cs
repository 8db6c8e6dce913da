namespace Warehouse.Tests.Views;

/// <summary>A slice as the views name it: a level and its labels, '*' where rolled up.</summary>
public sealed record SliceKey(string Level, string Feature, string Intent, string Language, string CustomerTier, string OutputFormat, string ContextBand)
{
    public const string All = "*";

    public override string ToString() => $"{Level}({Feature}|{Intent}|{Language}|{CustomerTier}|{OutputFormat}|{ContextBand})";
}

public static class SliceLevels
{
    /// <summary>The levels of slice_deltas and divergences.</summary>
    public static readonly string[] Deltas = ["overall", "feature", "feature_intent", "feature_customer_tier", "feature_language", "feature_context_band"];

    /// <summary>The levels of slice_mix and coverage_gaps.</summary>
    public static readonly string[] Mix = ["feature", "feature_intent", "feature_customer_tier", "feature_language", "feature_context_band", "customer_tier", "context_band"];

    public static SliceKey Of(string level, SliceLabels labels)
    {
        const string all = SliceKey.All;
        return level switch
        {
            "overall" => new(level, all, all, all, all, all, all),
            "feature" => new(level, labels.Feature, all, all, all, all, all),
            "feature_intent" => new(level, labels.Feature, labels.Intent, all, all, all, all),
            "feature_customer_tier" => new(level, labels.Feature, all, all, labels.CustomerTier, all, all),
            "feature_language" => new(level, labels.Feature, all, labels.Language, all, all, all),
            "feature_context_band" => new(level, labels.Feature, all, all, all, all, labels.ContextBand),
            "customer_tier" => new(level, all, all, all, labels.CustomerTier, all, all),
            "context_band" => new(level, all, all, all, all, all, labels.ContextBand),
            _ => throw new ArgumentOutOfRangeException(nameof(level), level, "not a slice level"),
        };
    }
}

/// <summary>One row of quality.slice_deltas, as the reference computes it.</summary>
public sealed record DeltaRow(
    string ComparisonName,
    string CompareKey,
    string Baseline,
    string Candidate,
    string Side,
    string Metric,
    bool HigherIsBetter,
    SliceKey Slice,
    long NBaseline,
    long NCandidate,
    long? NPairs,
    double? ValueBaseline,
    double? ValueCandidate,
    double? Delta,
    double? CiLow,
    double? CiHigh,
    string StatisticalTest,
    double? ZScore,
    double? PValue,
    double? PAdjusted,
    long? CasesRegressed,
    long? CasesImproved,
    string Verdict);

public sealed record DivergenceRow(string ComparisonName, SliceKey Slice, string DivergenceType, DeltaRow Offline, DeltaRow Online, string OfflineVerdict, string OnlineVerdict);

public sealed record MixRow(SliceKey Slice, long NTraces, long NEvalCases, double ProductionShare, double EvalShare, double? MixRatio);

public sealed record CoverageGapRow(SliceKey Slice, long NTraces, long NComplaints, double ComplaintRate, long NEvalCases, long ComplaintRank);

public sealed record SeedRow(TraceRow Trace, string Reason, string Reasons, long Priority);

public sealed record LockStatusRow(
    LockRow Lock,
    string VersionKey,
    string Version,
    string Status,
    long MetricsChecked,
    long MetricsFailed,
    double? LowestScore,
    DateTime? LastEvaluatedAt,
    IReadOnlyList<string> LatestRunIds);

/// <summary>
/// The views of VIEWS-SPEC.md computed in C# from a fixture, with StatisticsReference. Written from
/// the spec's words, independently of the SQL, so that the two can be compared row by row.
/// </summary>
public static class ViewReference
{
    private static readonly string[] OnlineRates = ["complaint_rate", "error_rate", "tool_parse_failure_rate", "json_parse_failure_rate", "retrieval_empty_rate"];
    private static readonly string[] OnlineMeans = ["mean_latency_ms", "mean_cost_usd"];

    public static List<DeltaRow> SliceDeltas(ViewFixture fixture)
    {
        var rows = new List<DeltaRow>();
        foreach (var comparison in fixture.Comparisons)
        {
            rows.AddRange(Holm(OfflineRows(fixture, comparison)));
            rows.AddRange(Holm(OnlineRows(fixture, comparison)));
        }

        return rows;
    }

    private static List<DeltaRow> OfflineRows(ViewFixture fixture, ComparisonRow comparison)
    {
        var arms = fixture.Evals.Where(record => record.Version(comparison.Key) == comparison.Baseline).Select(record => (Record: record, IsCandidate: false))
            .Concat(fixture.Evals.Where(record => record.Version(comparison.Key) == comparison.Candidate).Select(record => (Record: record, IsCandidate: true)))
            .ToList();
        var metrics = arms.Select(arm => arm.Record.Metric).Distinct().Order(StringComparer.Ordinal).ToList();
        var rows = new List<DeltaRow>();
        foreach (var level in SliceLevels.Deltas)
        {
            foreach (var slice in arms.GroupBy(arm => SliceLevels.Of(level, arm.Record.Labels)))
            {
                foreach (var metric in metrics)
                {
                    foreach (var kind in new[] { "mean_score", "pass_rate" })
                    {
                        var observations = slice
                            .Where(arm => arm.Record.Metric == metric)
                            .Select(arm => (arm.IsCandidate, Case: (arm.Record.DatasetId, arm.Record.CaseId), Value: kind == "mean_score" ? arm.Record.Score : arm.Record.IsPassed is { } passed ? (passed ? 1.0 : 0.0) : (double?)null))
                            .Where(observation => observation.Value is not null)
                            .Select(observation => (observation.IsCandidate, observation.Case, Value: observation.Value!.Value))
                            .ToList();
                        if (observations.Count == 0)
                        {
                            continue;
                        }

                        var baseline = observations.Where(observation => !observation.IsCandidate).Select(observation => observation.Value).ToList();
                        var candidate = observations.Where(observation => observation.IsCandidate).Select(observation => observation.Value).ToList();
                        var baselineCases = CaseMeans(observations.Where(observation => !observation.IsCandidate).Select(observation => (observation.Case, observation.Value)));
                        var candidateCases = CaseMeans(observations.Where(observation => observation.IsCandidate).Select(observation => (observation.Case, observation.Value)));
                        var pairs = baselineCases.Keys.Where(candidateCases.ContainsKey).Order().ToList();
                        var differences = pairs.Select(key => candidateCases[key] - baselineCases[key]).ToList();
                        long? regressed = pairs.Count > 0 ? differences.Count(d => d < 0) : null;
                        long? improved = pairs.Count > 0 ? differences.Count(d => d > 0) : null;

                        TestOutcome outcome;
                        long nBaseline = baseline.Count, nCandidate = candidate.Count;
                        if (pairs.Count >= StatisticsReference.MinimumArmSize)
                        {
                            outcome = StatisticsReference.Paired(pairs.Select(key => baselineCases[key]).ToList(), pairs.Select(key => candidateCases[key]).ToList());
                            nBaseline = nCandidate = pairs.Count;
                        }
                        else if (kind == "pass_rate")
                        {
                            outcome = StatisticsReference.TwoProportion((long)baseline.Sum(), baseline.Count, (long)candidate.Sum(), candidate.Count);
                        }
                        else
                        {
                            outcome = StatisticsReference.Welch(baseline, candidate);
                        }

                        rows.Add(Row(comparison, "offline", $"{kind}:{metric}", true, slice.Key, nBaseline, nCandidate, pairs.Count, outcome, regressed, improved));
                    }
                }
            }
        }

        return rows;
    }

    private static Dictionary<(string, string), double> CaseMeans(IEnumerable<((string, string) Case, double Value)> observations) =>
        observations.GroupBy(observation => observation.Case)
            .ToDictionary(group => group.Key, group => StatisticsReference.Mean(group.Select(observation => observation.Value).ToList()));

    public static bool InWindow(DateTime? startedAt, DateTime? from, DateTime? to)
    {
        if (from is null && to is null)
        {
            return true;
        }

        return startedAt is { } at && (from is null || at >= from) && (to is null || at < to);
    }

    private static List<DeltaRow> OnlineRows(ViewFixture fixture, ComparisonRow comparison)
    {
        var arms = fixture.Traces
            .Where(trace => trace.Version(comparison.Key) == comparison.Baseline && InWindow(trace.StartedAt, comparison.BaselineFrom, comparison.BaselineTo))
            .Select(trace => (Trace: trace, IsCandidate: false))
            .Concat(fixture.Traces
                .Where(trace => trace.Version(comparison.Key) == comparison.Candidate && InWindow(trace.StartedAt, comparison.CandidateFrom, comparison.CandidateTo))
                .Select(trace => (Trace: trace, IsCandidate: true)))
            .ToList();
        var rows = new List<DeltaRow>();
        foreach (var level in SliceLevels.Deltas)
        {
            foreach (var slice in arms.GroupBy(arm => SliceLevels.Of(level, arm.Trace.Labels)))
            {
                var baseline = slice.Where(arm => !arm.IsCandidate).Select(arm => arm.Trace).ToList();
                var candidate = slice.Where(arm => arm.IsCandidate).Select(arm => arm.Trace).ToList();
                foreach (var metric in OnlineRates)
                {
                    Func<TraceRow, bool> flag = metric switch
                    {
                        "complaint_rate" => trace => trace.HasComplaint,
                        "error_rate" => trace => trace.IsError,
                        "tool_parse_failure_rate" => trace => trace.HasToolParseFailure,
                        "json_parse_failure_rate" => trace => trace.HasJsonParseFailure,
                        _ => trace => trace.IsRetrievalEmpty,
                    };
                    var outcome = StatisticsReference.TwoProportion(baseline.Count(flag), baseline.Count, candidate.Count(flag), candidate.Count);
                    rows.Add(Row(comparison, "online", metric, false, slice.Key, baseline.Count, candidate.Count, null, outcome, null, null));
                }

                foreach (var metric in OnlineMeans)
                {
                    Func<TraceRow, double?> value = metric == "mean_latency_ms" ? trace => trace.LatencyMs : trace => trace.CostUsd;
                    var baselineValues = baseline.Select(value).OfType<double>().ToList();
                    var candidateValues = candidate.Select(value).OfType<double>().ToList();
                    if (baselineValues.Count + candidateValues.Count == 0)
                    {
                        continue;
                    }

                    var outcome = StatisticsReference.Welch(baselineValues, candidateValues);
                    rows.Add(Row(comparison, "online", metric, false, slice.Key, baselineValues.Count, candidateValues.Count, null, outcome, null, null));
                }
            }
        }

        return rows;
    }

    private static DeltaRow Row(ComparisonRow comparison, string side, string metric, bool higherIsBetter, SliceKey slice,
        long nBaseline, long nCandidate, long? nPairs, TestOutcome outcome, long? regressed, long? improved) =>
        new(comparison.Name, comparison.Key, comparison.Baseline, comparison.Candidate, side, metric, higherIsBetter, slice,
            nBaseline, nCandidate, side == "offline" ? nPairs : null, outcome.ValueBaseline, outcome.ValueCandidate, outcome.Delta,
            outcome.CiLow, outcome.CiHigh, outcome.Test, outcome.ZScore, outcome.PValue, null, regressed, improved, "");

    public static bool InHolmFamily(DeltaRow row) =>
        row.PValue is not null && row.NBaseline >= StatisticsReference.MinimumArmSize && row.NCandidate >= StatisticsReference.MinimumArmSize;

    /// <summary>Holm over one comparison × side, then the verdicts.</summary>
    private static IEnumerable<DeltaRow> Holm(List<DeltaRow> rows)
    {
        var family = rows.Where(InHolmFamily)
            .OrderBy(row => row.Metric, StringComparer.Ordinal)
            .ThenBy(row => row.Slice.Level, StringComparer.Ordinal)
            .ThenBy(row => row.Slice.Feature, StringComparer.Ordinal)
            .ThenBy(row => row.Slice.Intent, StringComparer.Ordinal)
            .ThenBy(row => row.Slice.Language, StringComparer.Ordinal)
            .ThenBy(row => row.Slice.CustomerTier, StringComparer.Ordinal)
            .ThenBy(row => row.Slice.ContextBand, StringComparer.Ordinal)
            .ToList();
        var adjusted = StatisticsReference.Holm(family.Select(row => row.PValue!.Value).ToList());
        var byRow = new Dictionary<DeltaRow, double>(ReferenceEqualityComparer.Instance);
        for (var index = 0; index < family.Count; index++)
        {
            byRow[family[index]] = adjusted[index];
        }

        return rows.Select(row =>
        {
            double? pAdjusted = byRow.TryGetValue(row, out var value) ? value : null;
            return row with
            {
                PAdjusted = pAdjusted,
                Verdict = StatisticsReference.Verdict(row.NBaseline, row.NCandidate, pAdjusted, row.Delta, row.HigherIsBetter),
            };
        });
    }

    /// <summary>The size of the Holm family of a row's comparison × side (to scale p_adjusted tolerances).</summary>
    public static int FamilySize(IEnumerable<DeltaRow> rows, DeltaRow row) =>
        rows.Count(other => other.ComparisonName == row.ComparisonName && other.Side == row.Side && InHolmFamily(other));

    public static string SummaryVerdict(IEnumerable<DeltaRow> rows)
    {
        var verdicts = rows.Select(row => row.Verdict).ToHashSet();
        foreach (var verdict in new[] { "regressed", "improved", "unchanged" })
        {
            if (verdicts.Contains(verdict))
            {
                return verdict;
            }
        }

        return "insufficient_data";
    }

    public static DeltaRow Representative(IEnumerable<DeltaRow> rows, string summary) =>
        rows.Where(row => row.Verdict == summary)
            .OrderBy(row => row.PAdjusted ?? double.MaxValue)
            .ThenBy(row => row.Metric, StringComparer.Ordinal)
            .First();

    public static List<DivergenceRow> Divergences(IReadOnlyList<DeltaRow> deltas)
    {
        var result = new List<DivergenceRow>();
        foreach (var slice in deltas.GroupBy(row => (row.ComparisonName, row.Slice)))
        {
            var offline = slice.Where(row => row.Side == "offline").ToList();
            var online = slice.Where(row => row.Side == "online").ToList();
            if (offline.Count == 0 || online.Count == 0)
            {
                continue;
            }

            var offlineSummary = SummaryVerdict(offline);
            var onlineSummary = SummaryVerdict(online);
            string? type = null;
            if (offlineSummary is "improved" or "unchanged" && onlineSummary == "regressed")
            {
                type = "offline_win_online_loss";
            }
            else if (offlineSummary == "regressed" && onlineSummary is "improved" or "unchanged")
            {
                type = "offline_loss_online_win";
            }

            if (type is not null)
            {
                result.Add(new DivergenceRow(slice.Key.ComparisonName, slice.Key.Slice, type,
                    Representative(offline, offlineSummary), Representative(online, onlineSummary), offlineSummary, onlineSummary));
            }
        }

        return result;
    }

    public static List<MixRow> SliceMix(ViewFixture fixture)
    {
        var totalTraces = fixture.Traces.Count;
        var totalCases = fixture.Evals.Select(record => (record.DatasetId, record.CaseId)).Distinct().Count();
        var rows = new List<MixRow>();
        foreach (var level in SliceLevels.Mix)
        {
            var traces = fixture.Traces.GroupBy(trace => SliceLevels.Of(level, trace.Labels)).ToDictionary(group => group.Key, group => (long)group.Count());
            var cases = fixture.Evals.GroupBy(record => SliceLevels.Of(level, record.Labels))
                .ToDictionary(group => group.Key, group => (long)group.Select(record => (record.DatasetId, record.CaseId)).Distinct().Count());
            foreach (var slice in traces.Keys.Union(cases.Keys))
            {
                var nTraces = traces.GetValueOrDefault(slice);
                var nCases = cases.GetValueOrDefault(slice);
                var productionShare = (double)nTraces / totalTraces;
                var evalShare = (double)nCases / totalCases;
                rows.Add(new MixRow(slice, nTraces, nCases, productionShare, evalShare, evalShare == 0 ? null : productionShare / evalShare));
            }
        }

        return rows;
    }

    public static List<CoverageGapRow> CoverageGaps(ViewFixture fixture)
    {
        var gaps = new List<(SliceKey Slice, long Traces, long Complaints, long Cases)>();
        foreach (var level in SliceLevels.Mix)
        {
            var cases = fixture.Evals.GroupBy(record => SliceLevels.Of(level, record.Labels))
                .ToDictionary(group => group.Key, group => (long)group.Select(record => (record.DatasetId, record.CaseId)).Distinct().Count());
            foreach (var slice in fixture.Traces.GroupBy(trace => SliceLevels.Of(level, trace.Labels)))
            {
                var complaints = slice.Count(trace => trace.HasComplaint);
                var nCases = cases.GetValueOrDefault(slice.Key);
                if (complaints > 0 && nCases < 30)
                {
                    gaps.Add((slice.Key, slice.Count(), complaints, nCases));
                }
            }
        }

        var ranks = gaps.Select(gap => gap.Complaints).Distinct().OrderDescending().Select((complaints, index) => (complaints, rank: index + 1L))
            .ToDictionary(pair => pair.complaints, pair => pair.rank);
        return gaps.Select(gap => new CoverageGapRow(gap.Slice, gap.Traces, gap.Complaints, (double)gap.Complaints / gap.Traces, gap.Cases, ranks[gap.Complaints])).ToList();
    }

    public static List<SeedRow> SeedCandidates(ViewFixture fixture)
    {
        var linked = fixture.Evals.Select(record => record.SourceTraceId)
            .Concat(fixture.Locks.Select(item => item.SourceTraceId))
            .OfType<string>()
            .ToHashSet();
        var featureCost = fixture.Traces.GroupBy(trace => trace.Feature)
            .ToDictionary(group => group.Key, group => group.Select(trace => trace.CostUsd).OfType<double>().DefaultIfEmpty(double.NaN).Average());
        var rows = new List<SeedRow>();
        foreach (var trace in fixture.Traces.Where(trace => !linked.Contains(trace.TraceId)))
        {
            var reasons = new List<(string Name, int Weight)>();
            if (trace.HasComplaint)
            {
                reasons.Add(("complaint", 100));
            }

            if (trace.FeedbackScore < 0.5)
            {
                reasons.Add(("negative_feedback", 80));
            }

            if (trace.HasJsonParseFailure)
            {
                reasons.Add(("json_parse_failure", 70));
            }

            if (trace.HasToolParseFailure)
            {
                reasons.Add(("tool_parse_failure", 70));
            }

            if (trace.IsError)
            {
                reasons.Add(("error", 60));
            }

            if (trace.IsRetrievalEmpty)
            {
                reasons.Add(("retrieval_empty", 50));
            }

            if (trace.CostUsd > 2 * featureCost[trace.Feature] && trace.FeedbackScore < 0.7)
            {
                reasons.Add(("high_cost_low_feedback", 40));
            }

            if (reasons.Count > 0)
            {
                rows.Add(new SeedRow(trace, reasons[0].Name, string.Join(",", reasons.Select(reason => reason.Name)), reasons[0].Weight + 5L * (reasons.Count - 1)));
            }
        }

        return rows;
    }

    public static List<LockStatusRow> LockStatus(ViewFixture fixture)
    {
        var rows = new List<LockStatusRow>();
        foreach (var item in fixture.Locks)
        {
            foreach (var key in ViewFixture.VersionKeys)
            {
                var versions = fixture.Evals.Where(record => record.DatasetId == item.DatasetId).Select(record => record.Version(key))
                    .Concat(fixture.Comparisons.Where(comparison => comparison.Key == key).SelectMany(comparison => new[] { comparison.Baseline, comparison.Candidate }))
                    .Distinct();
                foreach (var version in versions)
                {
                    var results = fixture.Evals.Where(record => record.DatasetId == item.DatasetId && record.CaseId == item.CaseId
                        && (item.Metric is null || record.Metric == item.Metric) && record.Version(key) == version).ToList();
                    var latest = results.GroupBy(record => record.Metric).Select(metric =>
                    {
                        var run = metric.GroupBy(record => record.RunId)
                            .OrderByDescending(group => group.Max(record => record.EvaluatedAt))
                            .ThenByDescending(group => group.Key, StringComparer.Ordinal)
                            .First();
                        var passes = run.All(record => item.MinScore is { } minimum ? record.Score >= minimum : record.IsPassed == true);
                        return (Records: run.ToList(), RunId: run.Key, Passes: passes);
                    }).ToList();
                    var status = latest.Count == 0 ? "missing" : latest.Any(metric => !metric.Passes) ? "failed" : "passed";
                    var counted = latest.SelectMany(metric => metric.Records).ToList();
                    rows.Add(new LockStatusRow(item, key, version, status, latest.Count, latest.Count(metric => !metric.Passes),
                        counted.Select(record => record.Score).OfType<double>().Cast<double?>().Min(),
                        counted.Select(record => record.EvaluatedAt).Max(),
                        latest.Select(metric => metric.RunId).Distinct().ToList()));
                }
            }
        }

        return rows;
    }
}
