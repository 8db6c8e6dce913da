using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using System.Numerics;
using System.Text;
using Dapper;
using Warehouse.Configuration;

namespace Warehouse.Commands;

/// <summary>
/// Prints quality.slice_deltas for people: regressions first, then improvements, each by
/// p_adjusted; unchanged and insufficient-data rows are counted but only listed with --all.
/// csv and json print the view's rows as they are, for tools.
/// </summary>
public sealed class DeltasCommand(Cli cli)
{
    public static readonly string[] Sides = ["offline", "online"];

    /// <summary>The verdicts in the order they are printed; the first two are shown by default.</summary>
    public static readonly string[] Verdicts = ["regressed", "improved", "unchanged", "insufficient_data"];

    private static readonly string[] SliceLabels = ["feature", "intent", "language", "customer_tier", "output_format", "context_band"];

    // Regressions first, then improvements, unchanged, insufficient data; anything else last.
    private const string VerdictRankSql =
        "case verdict when 'regressed' then 0 when 'improved' then 1 when 'unchanged' then 2 when 'insufficient_data' then 3 else 4 end";

    private const string OrderSql =
        $"order by {VerdictRankSql}, case when p_adjusted is null then 1 else 0 end, p_adjusted, comparison_name, side, metric, "
        + "slice_level, feature, intent, language, customer_tier, output_format, context_band";

    public Command Build()
    {
        var comparison = new Option<string?>("--comparison") { Description = "only this comparison (default: all)" };
        var side = new Option<string?>("--side") { Description = "only offline (eval records) or online (traces)" };
        side.AcceptOnlyFromAmong(Sides);
        var all = new Option<bool>("--all") { Description = "also list unchanged and insufficient_data rows (table format; csv and json always print every row)" };
        var format = new Option<string>("--format") { Description = "table (default, readable), csv or json (the view's rows, all columns)", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong(QueryOutput.Formats);
        var command = new Command("deltas", "print slice deltas between baseline and candidate, regressions first") { comparison, side, all, format };
        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var comparisonName = parseResult.GetValue(comparison);
            var chosenSide = parseResult.GetValue(side);
            var chosenFormat = parseResult.GetValue(format)!;
            var engine = cli.OpenWarehouse(parseResult, out _);
            await using var connection = await engine.OpenAsync(cancellationToken);

            var comparisons = (await connection.QueryAsync<ComparisonHeading>(new CommandDefinition(
                "select comparison_name as Name, compare_key as CompareKey, baseline as Baseline, candidate as Candidate "
                + "from quality.comparisons order by comparison_name", cancellationToken: cancellationToken))).ToList();
            if (comparisonName is not null && comparisons.All(known => known.Name != comparisonName))
            {
                throw new ConfigurationException(CompareCommand.UnknownComparison(comparisonName, comparisons.Select(known => known.Name).ToList()));
            }

            if (comparisons.Count == 0)
            {
                // For csv and json the (empty) result still follows, so that stdout stays parseable.
                await (chosenFormat == "table" ? cli.Output : cli.Error).WriteLineAsync(CompareCommand.NoComparisonsHint);
                if (chosenFormat == "table")
                {
                    return ExitCodes.Success;
                }
            }

            var (where, parameters) = Filter(comparisonName, chosenSide);
            await using var command = connection.CreateCommand();
            command.CommandText = engine.Sql($"select * from quality.slice_deltas{where} {OrderSql}");
            command.CommandTimeout = 0;
            foreach (var (name, value) in parameters)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = name;
                parameter.Value = value;
                command.Parameters.Add(parameter);
            }

            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (chosenFormat != "table")
            {
                await QueryOutput.WriteAsync(reader, chosenFormat, cli.Output, cancellationToken);
                return ExitCodes.Success;
            }

            var rows = await ReadAsync(reader, cancellationToken);
            var selected = comparisons.Where(known => comparisonName is null || known.Name == comparisonName).ToList();
            var sides = chosenSide is null ? Sides : [chosenSide];
            await WriteTableAsync(rows, selected, sides, parseResult.GetValue(all));
            return ExitCodes.Success;
        });
    }

    private static (string Where, List<(string Name, object Value)> Parameters) Filter(string? comparisonName, string? side)
    {
        var conditions = new List<string>();
        var parameters = new List<(string, object)>();
        if (comparisonName is not null)
        {
            conditions.Add("comparison_name = @comparisonName");
            parameters.Add(("comparisonName", comparisonName));
        }

        if (side is not null)
        {
            conditions.Add("side = @side");
            parameters.Add(("side", side));
        }

        return (conditions.Count == 0 ? "" : " where " + string.Join(" and ", conditions), parameters);
    }

    private async Task WriteTableAsync(IReadOnlyList<DeltaRow> rows, IReadOnlyList<ComparisonHeading> comparisons, IReadOnlyList<string> sides, bool all)
    {
        var output = cli.Output;

        // One count line per comparison and side, so that rows left out of the table are never hidden silently.
        foreach (var comparison in comparisons)
        {
            await output.WriteLineAsync($"{comparison.Name}: {comparison.CompareKey} {comparison.Baseline} -> {comparison.Candidate}");
            foreach (var side in sides)
            {
                var sideRows = rows.Where(row => row.ComparisonName == comparison.Name && row.Side == side).ToList();
                await output.WriteLineAsync($"  {side,-7}  " + (sideRows.Count == 0
                    ? "no rows: " + (side == "offline"
                        ? "no eval records carry either value"
                        : "no traces carry either value (within the windows, if any)")
                    : CountLine(sideRows)));
            }
        }

        var shown = rows.Where(row => all || !IsQuiet(row.Verdict)).ToList();
        await output.WriteLineAsync();
        if (shown.Count == 0)
        {
            await output.WriteLineAsync(rows.Count == 0
                ? "no slice deltas to show yet; load eval records or traces that carry the baseline and candidate values"
                : "nothing regressed or improved (p_adjusted < 0.05 with at least 30 observations per arm); use --all to list every row");
            return;
        }

        string[] header = ["comparison", "side", "metric", "slice", "n (base/cand)", "baseline", "candidate", "delta [95% CI]", "p_adjusted", "verdict"];
        bool[] rightAligned = [false, false, false, false, true, true, true, false, true, false];
        var cells = shown.Select(row => new[]
        {
            row.ComparisonName, row.Side, row.Metric, Slice(row.Labels), Observations(row),
            Value(row.Metric, row.ValueBaseline), Value(row.Metric, row.ValueCandidate),
            Delta(row.Metric, row.Delta, row.CiLow, row.CiHigh), PValue(row.PAdjusted), row.Verdict,
        }).ToList();
        WriteAligned(output, header, cells, rightAligned);

        var hidden = rows.Count - shown.Count;
        await output.WriteLineAsync(hidden == 0
            ? $"({shown.Count} row{(shown.Count == 1 ? "" : "s")})"
            : $"({shown.Count} of {rows.Count} rows; {hidden} unchanged or insufficient_data not listed, use --all to list them)");
    }

    private static bool IsQuiet(string verdict) => verdict is "unchanged" or "insufficient_data";

    internal static string CountLine(IReadOnlyCollection<DeltaRow> rows)
    {
        var counts = rows.GroupBy(row => row.Verdict).ToDictionary(group => group.Key, group => group.Count());
        var parts = Verdicts.Select(verdict => $"{counts.GetValueOrDefault(verdict)} {verdict}")
            .Concat(counts.Keys.Except(Verdicts).Order(StringComparer.Ordinal).Select(verdict => $"{counts[verdict]} {verdict}"));
        return string.Join(", ", parts);
    }

    /// <summary>`overall`, or the labels that are not rolled up, e.g. `feature=refund_request, customer_tier=enterprise`.</summary>
    internal static string Slice(IReadOnlyList<(string Name, string Value)> labels)
    {
        var named = labels.Where(label => label.Value != "*").Select(label => $"{label.Name}={label.Value}").ToList();
        return named.Count == 0 ? "overall" : string.Join(", ", named);
    }

    private static string Observations(DeltaRow row) =>
        row.StatisticalTest == "paired_z" && row.NPairs is { } pairs
            ? $"{pairs} pairs"
            : $"{Count(row.NBaseline)}/{Count(row.NCandidate)}";

    private static string Count(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";

    private enum Unit
    {
        Score,
        Rate,
        Milliseconds,
        Usd,
    }

    private static Unit UnitOf(string metric) =>
        metric.StartsWith("pass_rate:", StringComparison.Ordinal) || metric.EndsWith("_rate", StringComparison.Ordinal) ? Unit.Rate
        : metric.EndsWith("_ms", StringComparison.Ordinal) ? Unit.Milliseconds
        : metric.EndsWith("_usd", StringComparison.Ordinal) ? Unit.Usd
        : Unit.Score;

    /// <summary>A metric's value in its unit: rates as percentages, latency in ms, cost in USD.</summary>
    internal static string Value(string metric, double? value)
    {
        if (value is not { } number)
        {
            return "-";
        }

        return UnitOf(metric) switch
        {
            Unit.Rate => (number * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%",
            Unit.Milliseconds => number.ToString("0", CultureInfo.InvariantCulture) + " ms",
            Unit.Usd => number.ToString("0.00###", CultureInfo.InvariantCulture) + " USD",
            _ => number.ToString("0.000", CultureInfo.InvariantCulture),
        };
    }

    /// <summary>The delta with its 95 % interval, e.g. `+5.2 pp [+2.1, +8.3]` for a rate or `+0.052 [+0.021, +0.083]` for a score.</summary>
    internal static string Delta(string metric, double? delta, double? low, double? high)
    {
        if (delta is not { } value)
        {
            return "-";
        }

        var (scale, format, unit) = UnitOf(metric) switch
        {
            Unit.Rate => (100.0, "0.0", " pp"),
            Unit.Milliseconds => (1.0, "0", " ms"),
            Unit.Usd => (1.0, "0.00###", " USD"),
            _ => (1.0, "0.000", ""),
        };
        string Signed(double number) => (number < 0 ? "-" : "+") + Math.Abs(number * scale).ToString(format, CultureInfo.InvariantCulture);
        var text = Signed(value) + unit;
        return low is { } from && high is { } to ? $"{text} [{Signed(from)}, {Signed(to)}]" : text;
    }

    internal static string PValue(double? value) => value switch
    {
        null => "-",
        < 0.0001 => "<0.0001",
        _ => value.Value.ToString("0.0000", CultureInfo.InvariantCulture),
    };

    private static void WriteAligned(TextWriter output, string[] header, IReadOnlyList<string[]> rows, bool[] rightAligned)
    {
        var widths = header.Select((name, index) => Math.Max(name.Length, rows.Max(row => row[index].Length))).ToArray();
        var line = new StringBuilder();
        void Write(IReadOnlyList<string> cells, bool isHeader)
        {
            line.Clear();
            for (var index = 0; index < cells.Count; index++)
            {
                if (index > 0)
                {
                    line.Append("  ");
                }

                line.Append(rightAligned[index] && !isHeader ? cells[index].PadLeft(widths[index]) : cells[index].PadRight(widths[index]));
            }

            output.WriteLine(line.ToString().TrimEnd());
        }

        Write(header, isHeader: true);
        output.WriteLine(string.Join("  ", widths.Select(width => new string('-', width))));
        foreach (var row in rows)
        {
            Write(row, isHeader: false);
        }
    }

    private static async Task<List<DeltaRow>> ReadAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        var ordinals = Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, index => index, StringComparer.OrdinalIgnoreCase);
        object? Get(string column) => ordinals.TryGetValue(column, out var index) && !reader.IsDBNull(index) ? reader.GetValue(index) : null;
        string Text(string column) => Get(column) is { } value ? QueryOutput.Format(value)! : "";

        var rows = new List<DeltaRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new DeltaRow(
                Text("comparison_name"),
                Text("side"),
                Text("metric"),
                SliceLabels.Select(label => (label, Get(label) is { } value ? QueryOutput.Format(value)! : "*")).ToList(),
                Integer(Get("n_baseline")),
                Integer(Get("n_candidate")),
                Integer(Get("n_pairs")),
                Real(Get("value_baseline")),
                Real(Get("value_candidate")),
                Real(Get("delta")),
                Real(Get("ci_low")),
                Real(Get("ci_high")),
                Get("statistical_test") as string,
                Real(Get("p_adjusted")),
                Text("verdict")));
        }

        return rows;
    }

    private static long? Integer(object? value) => value switch
    {
        null => null,
        BigInteger big => (long)big,
        _ => Convert.ToInt64(value, CultureInfo.InvariantCulture),
    };

    private static double? Real(object? value) => value switch
    {
        null => null,
        BigInteger big => (double)big,
        _ => Convert.ToDouble(value, CultureInfo.InvariantCulture),
    };

    private sealed record ComparisonHeading(string Name, string CompareKey, string Baseline, string Candidate);

    internal sealed record DeltaRow(
        string ComparisonName,
        string Side,
        string Metric,
        IReadOnlyList<(string Name, string Value)> Labels,
        long? NBaseline,
        long? NCandidate,
        long? NPairs,
        double? ValueBaseline,
        double? ValueCandidate,
        double? Delta,
        double? CiLow,
        double? CiHigh,
        string? StatisticalTest,
        double? PAdjusted,
        string Verdict);
}
