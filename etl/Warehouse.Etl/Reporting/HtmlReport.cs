using System.Globalization;
using System.Net;
using System.Text;

namespace Warehouse.Reporting;

/// <summary>
/// Writes the report as one self-contained HTML file: the stylesheet inlined, charts as inline SVG, no
/// script and no external reference, so it opens from a mail attachment or a CI artifact with no
/// network. Every value from the data passes through <see cref="H"/>: trace metadata can hold anything,
/// markup included. A Content-Security-Policy that allows no script at all backs that up.
/// </summary>
public sealed class HtmlReport(ReportData data)
{
    public const int MaxDefiniteRows = 40;
    public const int MaxDivergences = 40;
    public const int MaxCoverageGaps = 20;
    public const int MaxSeeds = 25;
    public const int MaxBatches = 15;
    public const int MaxRejectReasons = 20;
    public const int MaxTrendVersions = 8;
    public const int PreviewLength = 240;

    private readonly StringBuilder _html = new();

    public string Render()
    {
        var summaries = data.Comparisons
            .Select(comparison => ComparisonSummary.Build(comparison, data.For(data.Headline, comparison), data.For(data.SliceDeltas, comparison)))
            .ToList();

        _html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<meta name=\"generator\" content=\"warehouse report\">\n")
            .Append("<title>").Append(H(Title(summaries))).Append("</title>\n<style>\n").Append(Stylesheet()).Append("</style>\n</head>\n<body>\n");

        _html.Append("<header class=\"page\">\n<h1>LLM quality report</h1>\n<p>Generated ")
            .Append(H(data.GeneratedAt.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)))
            .Append(" from the ").Append(H(data.EngineName)).Append(" warehouse · ")
            .Append(summaries.Count).Append(summaries.Count == 1 ? " comparison" : " comparisons")
            .Append(" · every section names the saved query (reports/sql/) it shows.</p>\n<nav>");
        for (var index = 0; index < summaries.Count; index++)
        {
            _html.Append("<a href=\"#comparison-").Append(index + 1).Append("\">").Append(H(summaries[index].Comparison.Name)).Append("</a>");
        }

        _html.Append("<a href=\"#coverage\">coverage</a><a href=\"#seeds\">seed candidates</a><a href=\"#load-health\">load health</a></nav>\n</header>\n<main>\n");

        if (summaries.Count == 0)
        {
            _html.Append("<section data-section=\"no-comparisons\"><p class=\"empty\">No comparison is registered, so there are no deltas, ")
                .Append("divergences, locks or trends to show. Register one with <code>warehouse compare add --name N --key prompt_version ")
                .Append("--baseline B --candidate C</code> and run the report again.</p></section>\n");
        }

        for (var index = 0; index < summaries.Count; index++)
        {
            WriteComparison(summaries[index], index + 1);
        }

        WriteCoverage();
        WriteSeeds();
        WriteLoadHealth();
        _html.Append("</main>\n</body>\n</html>\n");
        return _html.ToString();
    }

    private static string Title(List<ComparisonSummary> summaries) =>
        summaries.Count == 1 ? $"LLM quality report: {summaries[0].Comparison.Name}" : "LLM quality report";

    // --- one comparison -------------------------------------------------------------------------

    private void WriteComparison(ComparisonSummary summary, int number)
    {
        var comparison = summary.Comparison;
        _html.Append("<article class=\"comparison\" id=\"comparison-").Append(number).Append("\" data-comparison=\"").Append(H(comparison.Name)).Append("\">\n")
            .Append("<h2>").Append(H(comparison.Name)).Append("</h2>\n<p class=\"subtitle\">")
            .Append(H(comparison.CompareKey)).Append(": <strong>").Append(H(comparison.Baseline)).Append("</strong> (baseline) → <strong>")
            .Append(H(comparison.Candidate)).Append("</strong> (candidate)").Append(H(Windows(comparison))).Append("</p>\n");
        WriteHeadline(summary);
        WriteForest(summary);
        WriteDivergences(summary);
        WriteLocks(summary);
        WriteTrend(summary);
        _html.Append("</article>\n");
    }

    private static string Windows(ReportComparison comparison)
    {
        static string Window(DateTime? from, DateTime? to) =>
            from is null && to is null ? "all time" : $"{Day(from) ?? "…"} to {Day(to) ?? "…"}";

        return comparison.BaselineFrom is null && comparison.BaselineTo is null && comparison.CandidateFrom is null && comparison.CandidateTo is null
            ? ""
            : $"; online windows: baseline {Window(comparison.BaselineFrom, comparison.BaselineTo)}, candidate {Window(comparison.CandidateFrom, comparison.CandidateTo)}";
    }

    private void WriteHeadline(ComparisonSummary summary)
    {
        _html.Append("<section data-section=\"headline\">\n<h3>Headline</h3>\n");
        WriteSideVerdict(summary, summary.Offline, summary.OfflineMetric);
        WriteSideVerdict(summary, summary.Online, summary.OnlineMetric);

        var locks = LockRows(summary.Comparison).ToList();
        var candidateLocks = locks.Where(row => row.Arm == "candidate").ToList();
        var failed = candidateLocks.Count(row => row.Status == "failed");
        var missing = candidateLocks.Count(row => row.Status == "missing");
        var passed = candidateLocks.Count(row => row.Status == "passed");
        var lockClass = failed > 0 ? "failed" : missing > 0 ? "missing" : candidateLocks.Count > 0 ? "passed" : "none";
        _html.Append("<p class=\"verdict ").Append(lockClass).Append("\"><strong>locks:</strong> ");
        if (candidateLocks.Count == 0)
        {
            _html.Append("no lock is registered for these versions (<code>warehouse lock add</code> turns a fixed bug into one).");
        }
        else
        {
            _html.Append(passed).Append(" passed, ").Append(failed).Append(" failed, ").Append(missing).Append(" missing on ")
                .Append(H(summary.Comparison.Candidate)).Append(" (a lock that was not run counts as missing, not passed).");
        }

        _html.Append("</p>\n");

        var regressed = summary.Offline.Regressed + summary.Online.Regressed;
        var gateFails = regressed + failed + missing > 0;
        _html.Append("<p class=\"verdict ").Append(gateFails ? "failed" : "passed").Append("\"><strong>gate:</strong> <code>warehouse gate --comparison ")
            .Append(H(summary.Comparison.Name)).Append("</code> ").Append(gateFails ? "fails" : "passes").Append(": ")
            .Append(regressed).Append(" regressed slice rows, ").Append(failed).Append(" failed and ").Append(missing).Append(" missing locks.</p>\n");

        if (summary.Online.Word == "regressed" && summary.Offline.Word is "improved" or "unchanged")
        {
            _html.Append("<p class=\"callout\">Offline and online disagree: the eval set says ").Append(H(summary.Offline.Word))
                .Append(", production regressed. The divergences below name the slices; the coverage section shows what the eval set does not contain.</p>\n");
        }
        else if (summary.Offline.Word == "regressed" && summary.Online.Word is "improved" or "unchanged")
        {
            _html.Append("<p class=\"callout\">Offline and online disagree: the eval set regressed while production ")
                .Append(H(summary.Online.Word)).Append(". The divergences below name the slices.</p>\n");
        }

        // The forest plot's metrics first: a complaint rate that rose says more than a slower answer.
        var worst = summary.DefiniteRows.Where(row => row.Verdict == "regressed" && row.Slice.Level != "overall")
            .OrderBy(row => (row.Side == "online" && row.Metric == summary.OnlineMetric) || (row.Side == "offline" && row.Metric == summary.OfflineMetric) ? 0 : 1)
            .ThenBy(row => row.PAdjusted ?? 1)
            .Take(3).ToList();
        if (worst.Count > 0)
        {
            _html.Append("<p><strong>Worst regressed slices:</strong> ")
                .Append(string.Join("; ", worst.Select(row => $"{H(row.Slice.Display)} ({H(row.Side)} {H(row.Metric)} {H(FormatValue(row.Metric, row.BaselineValue))} → {H(FormatValue(row.Metric, row.CandidateValue))})")))
                .Append(".</p>\n");
        }

        _html.Append("<p class=\"query\">Queries: reports/sql/headline.sql, reports/sql/lock_board.sql</p>\n</section>\n");
    }

    private void WriteSideVerdict(ComparisonSummary summary, SideVerdict verdict, string? metric)
    {
        _html.Append("<p class=\"verdict ").Append(H(verdict.Word.Replace(' ', '_'))).Append("\"><strong>").Append(H(verdict.Side)).Append(":</strong> ")
            .Append(H(verdict.Word));
        if (verdict.Rows == 0)
        {
            _html.Append(verdict.Side == "offline"
                ? " (no eval records carry both versions)."
                : " (no production traces carry both versions in their windows).");
        }
        else
        {
            _html.Append(" · ").Append(verdict.Regressed).Append(" of ").Append(verdict.Rows).Append(" slice rows regressed, ")
                .Append(verdict.Improved).Append(" improved, ").Append(verdict.InsufficientData).Append(" with too little data");
            var overall = summary.Overall(verdict.Side, metric);
            if (overall is not null)
            {
                _html.Append(" · overall ").Append(H(overall.Metric)).Append(' ')
                    .Append(H(FormatValue(overall.Metric, overall.BaselineValue))).Append(" → ").Append(H(FormatValue(overall.Metric, overall.CandidateValue)))
                    .Append(" (").Append(H(FormatDelta(overall.Metric, overall.Delta))).Append(", 95 % CI ")
                    .Append(H(FormatDelta(overall.Metric, overall.CiLow))).Append(" to ").Append(H(FormatDelta(overall.Metric, overall.CiHigh))).Append(')');
            }

            _html.Append('.');
        }

        _html.Append("</p>\n");
    }

    private void WriteForest(ComparisonSummary summary)
    {
        _html.Append("<section data-section=\"forest\">\n<h3>Per-slice deltas, offline and online (95 % intervals)</h3>\n");
        if (summary.ForestSlices.Count == 0)
        {
            _html.Append("<p class=\"empty\">No slice deltas: neither eval records nor traces carry both versions yet.</p>\n");
        }
        else
        {
            _html.Append("<figure class=\"chart\" data-chart=\"forest\">\n").Append(ReportCharts.Forest(summary))
                .Append("\n<figcaption>Each row is a slice; the diamond is candidate − baseline, the bar its 95 % interval.")
                .Append("<span class=\"legend-dot\" style=\"background:#c62828\"></span>regressed")
                .Append("<span class=\"legend-dot\" style=\"background:#2e7d32\"></span>improved")
                .Append("<span class=\"legend-dot\" style=\"background:#757575\"></span>no significant change (Holm-adjusted p ≥ 0.05 or fewer than 30 per arm). ")
                .Append("Shown: overall, every slice where a plotted metric regressed or improved, then the strongest evidence.</figcaption>\n</figure>\n");
        }

        var definite = summary.DefiniteRows;
        _html.Append("<h3>Every regressed and improved slice (all metrics)</h3>\n");
        if (definite.Count == 0)
        {
            _html.Append("<p class=\"empty\">No slice regressed or improved on any metric.</p>\n");
        }
        else
        {
            _html.Append("<table data-table=\"definite-deltas\">\n<thead><tr><th>verdict</th><th>side</th><th>metric</th><th>slice level</th><th>slice</th>")
                .Append("<th>n baseline</th><th>n candidate</th><th>baseline</th><th>candidate</th><th>delta</th><th>95 % CI</th><th>p adjusted</th></tr></thead>\n<tbody>\n");
            foreach (var row in definite.Take(MaxDefiniteRows))
            {
                _html.Append("<tr class=\"").Append(H(row.Verdict)).Append("\"><td><span class=\"tag ").Append(H(row.Verdict)).Append("\">").Append(H(row.Verdict)).Append("</span></td>")
                    .Append(Cell(row.Side)).Append(Cell(row.Metric)).Append(Cell(row.Slice.Level)).Append(Cell(row.Slice.Display))
                    .Append(NumberCell(Count(row.BaselineCount))).Append(NumberCell(Count(row.CandidateCount)))
                    .Append(NumberCell(FormatValue(row.Metric, row.BaselineValue))).Append(NumberCell(FormatValue(row.Metric, row.CandidateValue)))
                    .Append(NumberCell(FormatDelta(row.Metric, row.Delta)))
                    .Append(NumberCell($"{FormatDelta(row.Metric, row.CiLow)} to {FormatDelta(row.Metric, row.CiHigh)}"))
                    .Append(NumberCell(FormatP(row.PAdjusted))).Append("</tr>\n");
            }

            _html.Append("</tbody>\n</table>\n");
            More(definite.Count, MaxDefiniteRows, "reports/sql/slice_deltas.sql");
        }

        _html.Append("<p class=\"query\">Query: reports/sql/slice_deltas.sql (quality.slice_deltas)</p>\n</section>\n");
    }

    private void WriteDivergences(ComparisonSummary summary)
    {
        var rows = data.For(data.Divergences, summary.Comparison).ToList();
        _html.Append("<section data-section=\"divergences\">\n<h3>Where offline and online disagree</h3>\n");
        if (rows.Count == 0)
        {
            _html.Append("<p class=\"empty\">No slice where the eval set and production tell different stories.</p>\n");
        }
        else
        {
            _html.Append("<table data-table=\"divergences\">\n<thead><tr><th>divergence</th><th>slice</th>")
                .Append("<th>offline metric</th><th>offline</th><th>offline delta (95 % CI)</th><th>offline verdict</th>")
                .Append("<th>online metric</th><th>online</th><th>online delta (95 % CI)</th><th>online verdict</th></tr></thead>\n<tbody>\n");
            foreach (var row in rows.Take(MaxDivergences))
            {
                var type = row.Label("divergence_type");
                var human = type switch
                {
                    "offline_win_online_loss" => "offline win, online loss",
                    "offline_loss_online_win" => "offline loss, online win",
                    _ => type,
                };
                _html.Append("<tr data-divergence-type=\"").Append(H(type)).Append("\"><td><span class=\"tag ").Append(H(type)).Append("\">").Append(H(human))
                    .Append("</span><br><code>").Append(H(type)).Append("</code></td>")
                    .Append(Cell(SliceKey.From(row).Display + " (" + row.Label("slice_level") + ")"));
                foreach (var side in new[] { "offline", "online" })
                {
                    var metric = row.Label(side + "_metric");
                    var verdict = row.Label(side + "_verdict");
                    _html.Append(Cell(metric))
                        .Append(NumberCell($"{FormatValue(metric, row.Number(side + "_value_baseline"))} → {FormatValue(metric, row.Number(side + "_value_candidate"))}"))
                        .Append(NumberCell($"{FormatDelta(metric, row.Number(side + "_delta"))} ({FormatDelta(metric, row.Number(side + "_ci_low"))} to {FormatDelta(metric, row.Number(side + "_ci_high"))})"))
                        .Append("<td><span class=\"tag ").Append(H(verdict)).Append("\">").Append(H(verdict)).Append("</span></td>");
                }

                _html.Append("</tr>\n");
            }

            _html.Append("</tbody>\n</table>\n");
            More(rows.Count, MaxDivergences, "reports/sql/divergences.sql");
        }

        _html.Append("<p class=\"query\">Query: reports/sql/divergences.sql (quality.divergences)</p>\n</section>\n");
    }

    private sealed record LockRow(string Name, string Title, string? IncidentUrl, string Dataset, string Case, string Metric, double? MinScore,
        string Arm, string Version, string Status, double? LowestScore, DateTime? LastEvaluatedAt, string? LastRun);

    private IEnumerable<LockRow> LockRows(ReportComparison comparison) =>
        data.For(data.LockBoard, comparison).Select(row => new LockRow(
            row.Label("lock_name"), row.Label("title"), row.Text("incident_url"), row.Label("dataset_id"), row.Label("case_id"),
            row.Label("metric"), row.Number("min_score"), row.Label("arm"), row.Label("version"), row.Label("status"),
            row.Number("lowest_score"), row.Time("last_evaluated_at"), row.Text("last_eval_run_id")));

    private void WriteLocks(ComparisonSummary summary)
    {
        var rows = LockRows(summary.Comparison).ToList();
        _html.Append("<section data-section=\"locks\">\n<h3>Lock board: fixed bugs that must stay fixed</h3>\n");
        if (rows.Count == 0)
        {
            _html.Append("<p class=\"empty\">No locks registered. <code>warehouse lock add --name N --dataset D --case C</code> turns a fixed bug into a permanent check.</p>\n");
        }
        else
        {
            _html.Append("<table data-table=\"locks\">\n<thead><tr><th>lock</th><th>title</th><th>incident</th><th>case</th><th>metric (min score)</th><th>")
                .Append(H(summary.Comparison.Baseline)).Append(" (baseline)</th><th>").Append(H(summary.Comparison.Candidate))
                .Append(" (candidate)</th><th>candidate lowest score</th><th>candidate last run</th></tr></thead>\n<tbody>\n");
            foreach (var group in rows.GroupBy(row => row.Name))
            {
                var first = group.First();
                var baseline = group.FirstOrDefault(row => row.Arm == "baseline");
                var candidate = group.FirstOrDefault(row => row.Arm == "candidate");
                var candidateStatus = candidate?.Status ?? "missing";
                _html.Append("<tr class=\"").Append(H(candidateStatus)).Append("\">").Append(Cell(first.Name)).Append(Cell(first.Title))
                    .Append("<td>").Append(Link(first.IncidentUrl, first.IncidentUrl)).Append("</td>")
                    .Append(Cell($"{first.Dataset} / {first.Case}"))
                    .Append(Cell((first.Metric.Length == 0 ? "every metric" : first.Metric) + (first.MinScore is { } min ? $" (≥ {min.ToString("0.###", CultureInfo.InvariantCulture)})" : " (must pass)")))
                    .Append(StatusCell(baseline?.Status ?? "missing")).Append(StatusCell(candidateStatus))
                    .Append(NumberCell(candidate?.LowestScore?.ToString("0.###", CultureInfo.InvariantCulture) ?? "–"))
                    .Append(Cell(candidate?.LastEvaluatedAt is { } at ? $"{at:yyyy-MM-dd HH:mm} · {candidate.LastRun}" : "–")).Append("</tr>\n");
            }

            _html.Append("</tbody>\n</table>\n");
        }

        _html.Append("<p class=\"query\">Query: reports/sql/lock_board.sql (quality.lock_status)</p>\n</section>\n");
    }

    private void WriteTrend(ComparisonSummary summary)
    {
        var comparison = summary.Comparison;
        _html.Append("<section data-section=\"trend\">\n<h3>Trend per ").Append(H(comparison.CompareKey)).Append("</h3>\n");
        var online = data.For(data.TrendOnline, comparison).ToList();
        var onlineVersions = TopVersions(online.GroupBy(row => row.Label("version")).ToDictionary(group => group.Key, group => group.Sum(row => row.Count("n_traces") ?? 0)), comparison);
        if (online.Count == 0)
        {
            _html.Append("<p class=\"empty\">No production traces yet.</p>\n");
        }
        else
        {
            var series = onlineVersions.Select(version => (version, (IReadOnlyList<(DateTime, double)>)online
                    .Where(row => row.Label("version") == version && row.Number("complaint_rate") is not null && row.Time("started_date") is not null)
                    .Select(row => (row.Time("started_date")!.Value, row.Number("complaint_rate")!.Value)).ToList()))
                .ToList();
            _html.Append("<figure class=\"chart\" data-chart=\"trend-online\">\n")
                .Append(ReportCharts.Trend("complaint rate per day", series, comparison, fraction: true))
                .Append("\n<figcaption>Production complaint rate per day and ").Append(H(comparison.CompareKey)).Append(" (all traces of the version, not only the comparison's windows).</figcaption>\n</figure>\n");

            _html.Append("<table data-table=\"trend-online\">\n<thead><tr><th>").Append(H(comparison.CompareKey))
                .Append("</th><th>first day</th><th>last day</th><th>traces</th><th>complaint rate</th><th>error rate</th><th>JSON parse failures</th>")
                .Append("<th>tool parse failures</th><th>mean latency</th><th>mean cost</th></tr></thead>\n<tbody>\n");
            foreach (var version in onlineVersions)
            {
                var rows = online.Where(row => row.Label("version") == version).ToList();
                var traces = rows.Sum(row => row.Count("n_traces") ?? 0);
                double Weighted(string column) => traces == 0 ? double.NaN : rows.Sum(row => (row.Number(column) ?? 0) * (row.Count("n_traces") ?? 0)) / traces;
                _html.Append("<tr>").Append(Cell(VersionLabel(version, comparison)))
                    .Append(Cell(Day(rows.Min(row => row.Time("started_date"))) ?? "–")).Append(Cell(Day(rows.Max(row => row.Time("started_date"))) ?? "–"))
                    .Append(NumberCell(Count(traces)))
                    .Append(NumberCell(FormatValue("complaint_rate", Weighted("complaint_rate")))).Append(NumberCell(FormatValue("error_rate", Weighted("error_rate"))))
                    .Append(NumberCell(FormatValue("json_parse_failure_rate", Weighted("json_parse_failure_rate"))))
                    .Append(NumberCell(FormatValue("tool_parse_failure_rate", Weighted("tool_parse_failure_rate"))))
                    .Append(NumberCell(FormatValue("mean_latency_ms", Weighted("mean_latency_ms")))).Append(NumberCell(FormatValue("mean_cost_usd", Weighted("mean_cost_usd"))))
                    .Append("</tr>\n");
            }

            _html.Append("</tbody>\n</table>\n");
        }

        // The offline panel's metric, e.g. pass_rate:correctness → pass_rate of eval metric correctness.
        var offline = data.For(data.TrendOffline, comparison).ToList();
        var (measure, evalMetric) = SplitOfflineMetric(summary.OfflineMetric, offline);
        var offlineRows = offline.Where(row => row.Label("metric") == evalMetric && row.Number(measure) is not null).ToList();
        if (offlineRows.Count > 0)
        {
            var offlineVersions = TopVersions(offlineRows.GroupBy(row => row.Label("version")).ToDictionary(group => group.Key, group => group.Sum(row => row.Count("n_records") ?? 0)), comparison);
            var series = offlineVersions.Select(version => (version, (IReadOnlyList<(DateTime, double)>)offlineRows
                    .Where(row => row.Label("version") == version && row.Time("evaluated_date") is not null)
                    .Select(row => (row.Time("evaluated_date")!.Value, row.Number(measure)!.Value)).ToList()))
                .ToList();
            _html.Append("<figure class=\"chart\" data-chart=\"trend-offline\">\n")
                .Append(ReportCharts.Trend($"{measure} of {Shorten(evalMetric, 30)} per eval day", series, comparison, fraction: true))
                .Append("\n<figcaption>Offline ").Append(H(measure)).Append(" of eval metric ").Append(H(evalMetric))
                .Append(" per evaluation day and ").Append(H(comparison.CompareKey)).Append(".</figcaption>\n</figure>\n");
        }
        else
        {
            _html.Append("<p class=\"empty\">No eval records for these versions yet.</p>\n");
        }

        _html.Append("<p class=\"query\">Queries: reports/sql/trend_online.sql, reports/sql/trend_offline.sql</p>\n</section>\n");
    }

    private static (string Measure, string EvalMetric) SplitOfflineMetric(string? metric, List<ReportRow> offline)
    {
        var separator = metric?.IndexOf(':') ?? -1;
        if (metric is not null && separator > 0)
        {
            return (metric[..separator], metric[(separator + 1)..]);
        }

        // No offline deltas (the versions were not both evaluated): the most evaluated metric's mean score.
        var busiest = offline.GroupBy(row => row.Label("metric")).OrderByDescending(group => group.Sum(row => row.Count("n_records") ?? 0))
            .ThenBy(group => group.Key, StringComparer.Ordinal).Select(group => group.Key).FirstOrDefault();
        return ("mean_score", busiest ?? "");
    }

    private static List<string> TopVersions(Dictionary<string, long> volumes, ReportComparison comparison)
    {
        var chosen = volumes.Keys.Where(version => version == comparison.Baseline || version == comparison.Candidate).ToList();
        chosen.AddRange(volumes.Where(pair => !chosen.Contains(pair.Key)).OrderByDescending(pair => pair.Value).ThenBy(pair => pair.Key, StringComparer.Ordinal)
            .Take(Math.Max(0, MaxTrendVersions - chosen.Count)).Select(pair => pair.Key));
        return chosen.Order(StringComparer.Ordinal).ToList();
    }

    private static string VersionLabel(string version, ReportComparison comparison) =>
        version == comparison.Candidate ? version + " (candidate)" : version == comparison.Baseline ? version + " (baseline)" : version;

    // --- global sections ------------------------------------------------------------------------

    private void WriteCoverage()
    {
        _html.Append("<section data-section=\"coverage\" id=\"coverage\">\n<h3>Where the eval set is blind</h3>\n");
        var mix = data.SliceMix
            .Where(row => row.Label("slice_level") is "customer_tier" or "context_band" or "feature")
            .Select(row =>
            {
                var level = row.Label("slice_level");
                var label = level switch
                {
                    "customer_tier" => "tier: " + row.Label("customer_tier"),
                    "context_band" => "context: " + row.Label("context_band"),
                    _ => "feature: " + row.Label("feature"),
                };
                var ratio = row.Number("mix_ratio");
                return (Level: level, Label: ratio is { } value ? $"{label} (×{value.ToString("0.0", CultureInfo.InvariantCulture)})" : label,
                    Production: row.Number("production_share") ?? 0, Eval: row.Number("eval_share") ?? 0);
            })
            .OrderBy(slice => slice.Level switch { "customer_tier" => 0, "context_band" => 1, _ => 2 })
            .ThenByDescending(slice => slice.Production)
            .Take(30)
            .ToList();
        if (mix.Count == 0)
        {
            _html.Append("<p class=\"empty\">No production traces yet, so no slice mix.</p>\n");
        }
        else
        {
            _html.Append("<figure class=\"chart\" data-chart=\"slice-mix\">\n")
                .Append(ReportCharts.SliceMix(mix.Select(slice => (slice.Label, slice.Production, slice.Eval)).ToList()))
                .Append("\n<figcaption>Share of production traces against share of eval cases per customer tier, context band and feature; ")
                .Append("(×r) is production share ÷ eval share: far above 1 is traffic the eval set hardly sees.</figcaption>\n</figure>\n");
        }

        _html.Append("<h4>Coverage gaps: complaints in slices with fewer than 30 eval cases</h4>\n");
        if (data.CoverageGaps.Count == 0)
        {
            _html.Append("<p class=\"empty\">No coverage gaps: every slice with complaints has at least 30 eval cases.</p>\n");
        }
        else
        {
            _html.Append("<table data-table=\"coverage-gaps\">\n<thead><tr><th>rank</th><th>slice level</th><th>slice</th><th>traces</th><th>complaints</th>")
                .Append("<th>complaint rate</th><th>eval cases</th></tr></thead>\n<tbody>\n");
            // Equal ranks (equal complaint counts) in one order on every engine, whatever its collation.
            var gaps = data.CoverageGaps
                .OrderBy(row => row.Count("complaint_rank") ?? long.MaxValue)
                .ThenBy(row => SliceKey.From(row).LevelRank)
                .ThenBy(row => SliceKey.From(row).Display, StringComparer.Ordinal);
            foreach (var row in gaps.Take(MaxCoverageGaps))
            {
                _html.Append("<tr>").Append(NumberCell(Count(row.Count("complaint_rank")))).Append(Cell(row.Label("slice_level")))
                    .Append(Cell(SliceKey.From(row).Display)).Append(NumberCell(Count(row.Count("n_traces")))).Append(NumberCell(Count(row.Count("n_complaints"))))
                    .Append(NumberCell(FormatValue("complaint_rate", row.Number("complaint_rate")))).Append(NumberCell(Count(row.Count("n_eval_cases")))).Append("</tr>\n");
            }

            _html.Append("</tbody>\n</table>\n");
            More(data.CoverageGaps.Count, MaxCoverageGaps, "reports/sql/coverage_gaps.sql");
        }

        _html.Append("<p class=\"query\">Queries: reports/sql/slice_mix.sql, reports/sql/coverage_gaps.sql</p>\n</section>\n");
    }

    private void WriteSeeds()
    {
        _html.Append("<section data-section=\"seeds\" id=\"seeds\">\n<h3>Seed candidates: production traces worth an eval case</h3>\n");
        if (data.SeedCandidates.Count == 0)
        {
            _html.Append("<p class=\"empty\">No seed candidates: every complaint, failure and error trace is already linked to an eval case or lock.</p>\n");
        }
        else
        {
            _html.Append("<p>").Append(Count(data.SeedCandidates.Count)).Append(" traces are not yet covered by an eval case or lock; the top ")
                .Append(Math.Min(MaxSeeds, data.SeedCandidates.Count)).Append(" by priority. <code>warehouse seed --out seeds.yaml --format promptfoo</code> exports them as eval cases.</p>\n")
                .Append("<table data-table=\"seeds\">\n<thead><tr><th>priority</th><th>reasons</th><th>trace</th><th>started</th><th>model / prompt</th>")
                .Append("<th>slice</th><th>feedback</th><th>input preview</th></tr></thead>\n<tbody>\n");
            foreach (var row in data.SeedCandidates.Take(MaxSeeds))
            {
                var trace = row.Label("source") + " " + row.Label("trace_id");
                var preview = row.Text("input_preview");
                _html.Append("<tr>").Append(NumberCell(Count(row.Count("priority")))).Append(Cell(row.Label("reasons").Replace(",", ", ", StringComparison.Ordinal)))
                    .Append("<td>").Append(Link(row.Text("trace_url"), trace)).Append("</td>")
                    .Append(Cell(row.Time("started_at")?.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "–"))
                    .Append(Cell(row.Label("model_version") + " / " + row.Label("prompt_version")))
                    .Append(Cell(string.Join(" · ", SliceKey.LabelColumns.Select(row.Label))))
                    .Append(NumberCell(row.Number("feedback_score")?.ToString("0.##", CultureInfo.InvariantCulture) ?? "–"))
                    .Append("<td class=\"preview\">").Append(H(preview is null ? "–" : Shorten(preview, PreviewLength))).Append("</td></tr>\n");
            }

            _html.Append("</tbody>\n</table>\n");
        }

        _html.Append("<p class=\"query\">Query: reports/sql/seed_candidates.sql (quality.seed_candidates)</p>\n</section>\n");
    }

    private void WriteLoadHealth()
    {
        _html.Append("<section data-section=\"load-health\" id=\"load-health\">\n<h3>Load health</h3>\n");
        var batches = data.LoadBatches;
        if (batches.Count == 0)
        {
            _html.Append("<p class=\"empty\">Nothing has been loaded yet.</p>\n");
        }
        else
        {
            var byStatus = batches.GroupBy(row => row.Label("status")).OrderBy(group => group.Key, StringComparer.Ordinal)
                .Select(group => $"{group.Count()} {group.Key}");
            var lastLoad = batches.Where(row => row.Label("status") is "loaded" or "loaded_with_rejects").Select(row => row.Time("finished_at")).Max();
            var rejected = batches.Sum(row => row.Count("rows_rejected") ?? 0);
            var failed = batches.Count(row => row.Label("status") == "failed");
            _html.Append("<p class=\"verdict ").Append(failed > 0 || rejected > 0 ? "failed" : "passed").Append("\">").Append(Count(batches.Count)).Append(" batches (")
                .Append(H(string.Join(", ", byStatus))).Append("); ").Append(Count(rejected)).Append(" records rejected in all; last successful load ")
                .Append(H(lastLoad?.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) ?? "never")).Append(".</p>\n");
            _html.Append("<table data-table=\"load-batches\">\n<thead><tr><th>batch</th><th>file</th><th>format</th><th>table</th><th>status</th><th>read</th>")
                .Append("<th>loaded</th><th>inserted</th><th>updated</th><th>rejected</th><th>finished</th><th>error</th></tr></thead>\n<tbody>\n");
            foreach (var row in batches.Take(MaxBatches))
            {
                var status = row.Label("status");
                _html.Append("<tr class=\"").Append(status == "failed" ? "failed" : "").Append("\">").Append(NumberCell(Count(row.Count("batch_id"))))
                    .Append(Cell(row.Label("file_path"))).Append(Cell(row.Label("source_format"))).Append(Cell(row.Label("target_table")))
                    .Append(StatusCell(status)).Append(NumberCell(Count(row.Count("rows_read")))).Append(NumberCell(Count(row.Count("rows_loaded"))))
                    .Append(NumberCell(Count(row.Count("rows_inserted")))).Append(NumberCell(Count(row.Count("rows_updated")))).Append(NumberCell(Count(row.Count("rows_rejected"))))
                    .Append(Cell(row.Time("finished_at")?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "–"))
                    .Append(Cell(row.Text("error_message") ?? "")).Append("</tr>\n");
            }

            _html.Append("</tbody>\n</table>\n");
            More(batches.Count, MaxBatches, "reports/sql/load_batches.sql");
        }

        _html.Append("<h4>Rejected records by file and reason</h4>\n");
        if (data.RejectedRecords.Count == 0)
        {
            _html.Append("<p class=\"empty\">No record has been rejected.</p>\n");
        }
        else
        {
            _html.Append("<table data-table=\"rejected-records\">\n<thead><tr><th>batch</th><th>file</th><th>reason</th><th>records</th><th>first record</th></tr></thead>\n<tbody>\n");
            foreach (var row in data.RejectedRecords.Take(MaxRejectReasons))
            {
                _html.Append("<tr>").Append(NumberCell(Count(row.Count("batch_id")))).Append(Cell(row.Label("file_path"))).Append(Cell(row.Label("reason")))
                    .Append(NumberCell(Count(row.Count("n_records")))).Append(NumberCell(Count(row.Count("first_record_number")))).Append("</tr>\n");
            }

            _html.Append("</tbody>\n</table>\n");
            More(data.RejectedRecords.Count, MaxRejectReasons, "reports/sql/rejected_records.sql");
        }

        _html.Append("<p class=\"query\">Queries: reports/sql/load_batches.sql, reports/sql/rejected_records.sql (details: etl.rejected_records)</p>\n</section>\n");
    }

    // --- formatting -----------------------------------------------------------------------------

    /// <summary>HTML-escapes text for element content and quoted attribute values (&amp; &lt; &gt; " ').</summary>
    public static string H(string? text) => WebUtility.HtmlEncode(text ?? "");

    private static string Cell(string text) => "<td>" + H(text) + "</td>";

    private static string NumberCell(string text) => "<td class=\"number\">" + H(text) + "</td>";

    private static string StatusCell(string status) => "<td><span class=\"tag " + H(status) + "\">" + H(status) + "</span></td>";

    /// <summary>A link only for http(s) addresses; anything else (javascript:, data:, text) is shown as text.</summary>
    private static string Link(string? url, string? text)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return H(text ?? "–");
        }

        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? "<a href=\"" + H(uri.AbsoluteUri) + "\" rel=\"noopener noreferrer\">" + H(text ?? url) + "</a>"
            : H(text == url ? url : $"{text} ({url})");
    }

    private void More(int total, int shown, string query)
    {
        if (total > shown)
        {
            _html.Append("<p class=\"query\">").Append(Count(total - shown)).Append(" more rows: run ").Append(H(query)).Append(".</p>\n");
        }
    }

    private static string Count(long? value) => value?.ToString("#,0", CultureInfo.InvariantCulture) ?? "–";

    private static string? Day(DateTime? value) => value?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string FormatP(double? value) => value switch
    {
        null => "–",
        < 0.0001 => "< 0.0001",
        { } p => p.ToString("0.####", CultureInfo.InvariantCulture),
    };

    /// <summary>A metric's value in its unit: rates and scores as percentages, latency in ms, cost in USD.</summary>
    public static string FormatValue(string metric, double? value)
    {
        if (value is not { } number || !double.IsFinite(number))
        {
            return "–";
        }

        return metric.StartsWith("mean_latency", StringComparison.Ordinal) ? number.ToString("#,0", CultureInfo.InvariantCulture) + " ms"
            : metric.StartsWith("mean_cost", StringComparison.Ordinal) ? "$" + number.ToString("0.0000", CultureInfo.InvariantCulture)
            : (number * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";
    }

    /// <summary>A difference in the metric's unit: percentage points for fractions.</summary>
    public static string FormatDelta(string metric, double? value)
    {
        if (value is not { } number || !double.IsFinite(number))
        {
            return "–";
        }

        return metric.StartsWith("mean_latency", StringComparison.Ordinal) ? number.ToString("+#,0;−#,0;0", CultureInfo.InvariantCulture) + " ms"
            : metric.StartsWith("mean_cost", StringComparison.Ordinal) ? number.ToString("+$0.0000;−$0.0000;$0", CultureInfo.InvariantCulture)
            : ReportCharts.FormatPoints(number);
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";

    private static string Stylesheet()
    {
        using var stream = typeof(HtmlReport).Assembly.GetManifestResourceStream("reports/assets/report.css")
            ?? throw new InvalidOperationException("reports/assets/report.css is not embedded in the console; rebuild it.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
