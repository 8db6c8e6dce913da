using System.Globalization;
using System.Text.RegularExpressions;
using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace Warehouse.Reporting;

/// <summary>
/// The report's charts, drawn by OxyPlot and exported as inline SVG (OxyPlot's exporter is managed
/// code: no native graphics library, the same bytes on every machine). Text in the SVG is written by
/// an XML writer, so labels taken from the data are escaped there too.
/// </summary>
public static partial class ReportCharts
{
    public const double Width = 960;

    public static readonly OxyColor Regressed = OxyColor.Parse("#c62828");
    public static readonly OxyColor Improved = OxyColor.Parse("#2e7d32");
    public static readonly OxyColor Neutral = OxyColor.Parse("#757575");
    public static readonly OxyColor Baseline = OxyColor.Parse("#1f77b4");
    public static readonly OxyColor Candidate = OxyColor.Parse("#ff7f0e");

    private static readonly OxyColor[] OtherVersions =
        [OxyColor.Parse("#9467bd"), OxyColor.Parse("#8c564b"), OxyColor.Parse("#17becf"), OxyColor.Parse("#bcbd22"), OxyColor.Parse("#7f7f7f"), OxyColor.Parse("#e377c2")];

    /// <summary>
    /// Per-slice deltas with their 95 % intervals, offline on the left and online on the right, one row
    /// per slice on a shared axis; red where the slice regressed, green where it improved.
    /// </summary>
    public static string Forest(ComparisonSummary summary)
    {
        var slices = summary.ForestSlices;
        var model = NewModel();
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Left,
            Key = "slices",
            Minimum = -0.6,
            Maximum = slices.Count - 0.4,
            MajorStep = 1,
            MinorStep = 1,
            StartPosition = 1,
            EndPosition = 0,
            IsZoomEnabled = false,
            MajorGridlineStyle = LineStyle.Dot,
            MajorGridlineColor = OxyColor.Parse("#e0e0e0"),
            LabelFormatter = value => SliceLabel(slices, value),
        });

        model.PlotMargins = new OxyThickness(LabelMargin(slices.Select(slice => Shorten(slice.Display, 44))), double.NaN, double.NaN, double.NaN);
        AddPanel(model, summary, "offline", summary.OfflineMetric, 0, 0.47);
        AddPanel(model, summary, "online", summary.OnlineMetric, 0.53, 1);
        return Export(model, Width, 70 + 24 * Math.Max(slices.Count, 1));
    }

    private static string SliceLabel(IReadOnlyList<SliceKey> slices, double value)
    {
        var index = (int)Math.Round(value);
        return Math.Abs(value - index) < 1e-6 && index >= 0 && index < slices.Count ? Shorten(slices[index].Display, 44) : "";
    }

    private static void AddPanel(PlotModel model, ComparisonSummary summary, string side, string? metric, double start, double end)
    {
        var axisKey = side;
        var fractional = metric is not null && IsFraction(metric);
        var worse = metric is null ? "" : HigherIsBetter(summary, side, metric) ? " (right = better)" : " (right = worse)";
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Bottom,
            Key = axisKey,
            StartPosition = start,
            EndPosition = end,
            Title = metric is null ? $"{side}: no data" : $"{side} · {metric}: candidate − baseline{worse}",
            TitleFontSize = 11,
            MajorGridlineStyle = LineStyle.Dot,
            MajorGridlineColor = OxyColor.Parse("#e0e0e0"),
            LabelFormatter = value => fractional ? FormatPoints(value) : value.ToString("+0.###;−0.###;0", CultureInfo.InvariantCulture),
        });
        model.Annotations.Add(new LineAnnotation
        {
            Type = LineAnnotationType.Vertical,
            X = 0,
            XAxisKey = axisKey,
            YAxisKey = "slices",
            Color = OxyColor.Parse("#424242"),
            LineStyle = LineStyle.Solid,
            StrokeThickness = 1,
        });
        if (metric is null)
        {
            return;
        }

        foreach (var (verdictGroup, color) in new[] { ("regressed", Regressed), ("improved", Improved), ("other", Neutral) })
        {
            var intervals = new LineSeries
            {
                XAxisKey = axisKey,
                YAxisKey = "slices",
                Color = color,
                StrokeThickness = 2.5,
                CanTrackerInterpolatePoints = false,
            };
            var points = new ScatterSeries
            {
                XAxisKey = axisKey,
                YAxisKey = "slices",
                MarkerType = MarkerType.Diamond,
                MarkerSize = 5,
                MarkerFill = color,
            };
            for (var index = 0; index < summary.ForestSlices.Count; index++)
            {
                var delta = summary.Find(side, metric, summary.ForestSlices[index]);
                if (delta?.Delta is null || Group(delta.Verdict) != verdictGroup)
                {
                    continue;
                }

                if (delta.CiLow is { } low && delta.CiHigh is { } high && double.IsFinite(low) && double.IsFinite(high))
                {
                    intervals.Points.Add(new DataPoint(low, index));
                    intervals.Points.Add(new DataPoint(high, index));
                    intervals.Points.Add(DataPoint.Undefined);
                }

                points.Points.Add(new ScatterPoint(delta.Delta.Value, index));
            }

            model.Series.Add(intervals);
            model.Series.Add(points);
        }
    }

    private static string Group(string verdict) => verdict is "regressed" or "improved" ? verdict : "other";

    private static bool HigherIsBetter(ComparisonSummary summary, string side, string metric) =>
        summary.Deltas.FirstOrDefault(delta => delta.Side == side && delta.Metric == metric)?.HigherIsBetter ?? true;

    /// <summary>Scores, pass rates and rates are fractions; latency and cost are not.</summary>
    public static bool IsFraction(string metric) =>
        !metric.StartsWith("mean_latency", StringComparison.Ordinal) && !metric.StartsWith("mean_cost", StringComparison.Ordinal);

    /// <summary>A difference of fractions in percentage points: 0.023 → "+2.3 pp".</summary>
    public static string FormatPoints(double value) =>
        Math.Abs(value) < 1e-12 ? "0" : (value * 100).ToString("+0.#;−0.#", CultureInfo.InvariantCulture) + " pp";

    /// <summary>Production share against eval share per slice: where the eval set does not look like traffic.</summary>
    public static string SliceMix(IReadOnlyList<(string Label, double ProductionShare, double EvalShare)> slices)
    {
        var model = NewModel();
        var labels = slices.Select(slice => Shorten(slice.Label, 40)).ToList();
        model.PlotMargins = new OxyThickness(LabelMargin(labels), double.NaN, double.NaN, double.NaN);
        model.Axes.Add(new CategoryAxis
        {
            Position = AxisPosition.Left,
            Key = "slices",
            ItemsSource = labels,
            StartPosition = 1,
            EndPosition = 0,
            IsZoomEnabled = false,
        });
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Bottom,
            Minimum = 0,
            Title = "share of all production traces / of all eval cases",
            TitleFontSize = 11,
            MajorGridlineStyle = LineStyle.Dot,
            MajorGridlineColor = OxyColor.Parse("#e0e0e0"),
            LabelFormatter = value => value.ToString("0%", CultureInfo.InvariantCulture),
        });
        var production = new BarSeries { Title = "production share", FillColor = Candidate, YAxisKey = "slices" };
        var eval = new BarSeries { Title = "eval share", FillColor = Baseline, YAxisKey = "slices" };
        foreach (var slice in slices)
        {
            production.Items.Add(new BarItem(slice.ProductionShare));
            eval.Items.Add(new BarItem(slice.EvalShare));
        }

        model.Series.Add(production);
        model.Series.Add(eval);
        AddLegend(model);
        return Export(model, Width, 80 + 34 * Math.Max(slices.Count, 1));
    }

    /// <summary>One line per version over days; the compared versions in fixed colours.</summary>
    public static string Trend(
        string title, IReadOnlyList<(string Version, IReadOnlyList<(DateTime Day, double Value)> Points)> versions,
        ReportComparison comparison, bool fraction)
    {
        var model = NewModel();
        var days = versions.SelectMany(version => version.Points).Select(point => point.Day).ToList();
        var first = days.Count == 0 ? DateTime.UtcNow.Date : days.Min();
        var last = days.Count == 0 ? first : days.Max();
        if ((last - first).TotalDays < 2)
        {
            // One or two days (an eval run) would leave the axis without a range: show the week around them.
            first = first.AddDays(-3);
            last = last.AddDays(3);
        }

        model.Axes.Add(new DateTimeAxis
        {
            Minimum = DateTimeAxis.ToDouble(first.AddHours(-12)),
            Maximum = DateTimeAxis.ToDouble(last.AddHours(12)),
            Position = AxisPosition.Bottom,
            StringFormat = "MMM dd",
            MajorGridlineStyle = LineStyle.Dot,
            MajorGridlineColor = OxyColor.Parse("#e0e0e0"),
            IntervalType = DateTimeIntervalType.Days,
        });
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Left,
            Title = title,
            AxisTitleDistance = 10,
            TitleFontSize = 11,
            MajorGridlineStyle = LineStyle.Dot,
            MajorGridlineColor = OxyColor.Parse("#e0e0e0"),
            LabelFormatter = value => fraction ? value.ToString("0.#%", CultureInfo.InvariantCulture) : value.ToString("0.###", CultureInfo.InvariantCulture),
        });
        var other = 0;
        foreach (var (version, points) in versions)
        {
            var color = version == comparison.Candidate ? Candidate
                : version == comparison.Baseline ? Baseline
                : OtherVersions[other++ % OtherVersions.Length];
            var series = new LineSeries
            {
                Title = Shorten(version, 40) + (version == comparison.Candidate ? " (candidate)" : version == comparison.Baseline ? " (baseline)" : ""),
                Color = color,
                MarkerType = MarkerType.Circle,
                MarkerSize = 3.5,
                MarkerFill = color,
                StrokeThickness = 2,
            };
            foreach (var (day, value) in points.OrderBy(point => point.Day))
            {
                series.Points.Add(new DataPoint(DateTimeAxis.ToDouble(day), value));
            }

            model.Series.Add(series);
        }

        AddLegend(model);
        return Export(model, Width, 320);
    }

    private static PlotModel NewModel() => new()
    {
        Background = OxyColors.White,
        PlotAreaBorderColor = OxyColor.Parse("#bdbdbd"),
        DefaultFont = "Helvetica",
        DefaultFontSize = 11,
        Padding = new OxyThickness(8),
    };

    private static void AddLegend(PlotModel model) => model.Legends.Add(new Legend
    {
        // Top left: OxyPlot sizes the legend with PDF font metrics, narrower than a browser's, and a
        // legend that ends at the right edge would be cut.
        LegendPosition = LegendPosition.TopLeft,
        LegendPlacement = LegendPlacement.Outside,
        LegendOrientation = LegendOrientation.Horizontal,
        LegendFontSize = 11,
    });

    private static int _charts;

    [GeneratedRegex("(id=\"|url\\(#)(clipPath[0-9]+)")]
    private static partial Regex ClipPathId();

    private static string Export(PlotModel model, double width, double height)
    {
        var svg = SvgExporter.ExportToString(model, width, height, false);
        var open = svg.IndexOf("<svg", StringComparison.Ordinal);
        svg = open < 0 ? svg : svg[open..];
        // A viewBox lets the page scale the chart to its column without cutting it (CSS height: auto).
        var box = string.Create(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {width} {height}\" preserveAspectRatio=\"xMinYMin meet\" ");
        svg = svg.StartsWith("<svg ", StringComparison.Ordinal) ? box + svg[5..] : svg;
        // OxyPlot numbers its clip paths from 1 in every export; inline in one page, the first chart's
        // clipPath1 would clip every later chart. Give each chart its own ids.
        var prefix = "chart" + Interlocked.Increment(ref _charts).ToString(CultureInfo.InvariantCulture) + "-";
        return ClipPathId().Replace(svg, match => match.Groups[1].Value + prefix + match.Groups[2].Value);
    }

    /// <summary>Room for the longest axis label at 11 px, measured generously for the browser's font.</summary>
    private static double LabelMargin(IEnumerable<string> labels) => 20 + 6.6 * labels.Select(label => label.Length).DefaultIfEmpty(8).Max();

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
