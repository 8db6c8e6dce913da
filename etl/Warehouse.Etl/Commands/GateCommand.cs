using System.CommandLine;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using Warehouse.Configuration;
using Warehouse.Engines;

namespace Warehouse.Commands;

/// <summary>
/// The CI gate for one comparison: exit 1 when a lock is failed or missing on the candidate
/// (quality.lock_status for the comparison's key and candidate value) or a slice-metric of the
/// chosen sides regressed (quality.slice_deltas), else 0. With --baseline-from the slices and
/// locks are held against accepted values pinned earlier with --write-baseline instead of
/// against the comparison's baseline arm. --junit writes every check as JUnit XML.
/// </summary>
public sealed class GateCommand(Cli cli)
{
    public static readonly string[] Sides = ["offline", "online", "both"];

    /// <summary>The view's floor of observations per arm below which nothing is judged.</summary>
    public const int MinimumObservations = 30;

    public const string BaselineFormat = "warehouse-gate-baseline";
    public const int BaselineFormatVersion = 1;

    private static readonly string[] LabelColumns = ["feature", "intent", "language", "customer_tier", "output_format", "context_band"];

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // A degenerate interval can be NaN; write it as "NaN" rather than failing the file.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public Command Build()
    {
        var comparison = new Option<string>("--comparison") { Description = "the comparison to gate (see 'warehouse compare list')", Required = true };
        var junit = new Option<string?>("--junit") { Description = "also write every check as JUnit XML to this file, for CI test reports" };
        var alpha = new Option<double?>("--alpha")
        {
            Description = "significance level for a slice regression on p_adjusted (default: the view's verdict, 0.05)",
        };
        var side = new Option<string>("--side") { Description = "offline, online or both (default)", DefaultValueFactory = _ => "both" };
        side.AcceptOnlyFromAmong(Sides);
        var baselineFrom = new Option<string?>("--baseline-from")
        {
            Description = "gate the candidate against accepted values pinned with --write-baseline instead of the comparison's baseline arm",
        };
        var writeBaseline = new Option<string?>("--write-baseline")
        {
            Description = "write the candidate's values and lock statuses to this JSON file as the accepted baseline",
        };
        var command = new Command("gate", "exit 1 when a lock fails or is missing or a slice regresses; JUnit XML for CI")
        {
            comparison, junit, alpha, side, baselineFrom, writeBaseline,
        };
        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var stopwatch = Stopwatch.StartNew();
            var comparisonName = parseResult.GetValue(comparison)!;
            var chosenAlpha = parseResult.GetValue(alpha);
            var pinnedPath = parseResult.GetValue(baselineFrom);
            var writePath = parseResult.GetValue(writeBaseline);
            var sides = parseResult.GetValue(side) is "offline" or "online" ? [parseResult.GetValue(side)!] : new[] { "offline", "online" };
            if (chosenAlpha is { } given && !(given > 0 && given < 1))
            {
                throw new ConfigurationException($"--alpha {given.ToString(CultureInfo.InvariantCulture)} is not a significance level; give a number between 0 and 1, e.g. 0.01");
            }

            if (pinnedPath is not null && writePath is not null)
            {
                throw new ConfigurationException("--baseline-from and --write-baseline exclude each other: gate against a pinned baseline, or pin a new one");
            }

            if (pinnedPath is not null && chosenAlpha is not null)
            {
                throw new ConfigurationException(
                    "--alpha applies to the comparison's statistical test; with --baseline-from a slice fails when it is worse than the accepted value by more than its CI half-width");
            }

            var pinned = pinnedPath is null ? null : ReadBaseline(pinnedPath);

            var engine = cli.OpenWarehouse(parseResult, out _);
            await using var connection = await engine.OpenAsync(cancellationToken);
            var heading = await connection.QuerySingleOrDefaultAsync<ComparisonHeading>(new CommandDefinition(engine.Sql(
                "select comparison_name as Name, compare_key as CompareKey, baseline as Baseline, candidate as Candidate "
                + "from quality.comparisons where comparison_name = @name"), new { name = comparisonName }, cancellationToken: cancellationToken))
                ?? throw new ConfigurationException(CompareCommand.UnknownComparison(comparisonName, await CompareCommand.NamesAsync(connection, cancellationToken)));

            var locks = await ReadLocksAsync(engine, connection, heading, cancellationToken);
            var slices = (await ReadSlicesAsync(engine, connection, heading.Name, cancellationToken))
                .Where(row => sides.Contains(row.Side)).ToList();

            var lockChecks = locks.Select(row => CheckLock(heading, row, pinned)).ToList();
            var sliceChecks = slices.Select(row => pinned is null ? CheckSlice(heading, row, chosenAlpha) : CheckPinnedSlice(heading, row, pinned)).ToList();

            await WriteReportAsync(heading, sides, chosenAlpha, pinned, pinnedPath, locks, lockChecks, slices, sliceChecks);

            var failedLocks = lockChecks.Count(check => check.Check.Outcome == CheckOutcome.Failed && check.Status == "failed");
            var missingLocks = lockChecks.Count(check => check.Check.Outcome == CheckOutcome.Failed && check.Status != "failed");
            var regressed = sliceChecks.Count(check => check.Check.Outcome == CheckOutcome.Failed);
            var passed = failedLocks + missingLocks + regressed == 0;

            if (parseResult.GetValue(junit) is { } junitPath)
            {
                var suites = new List<GateSuite> { new($"{heading.Name} locks", lockChecks.Select(check => check.Check).ToList()) };
                suites.AddRange(sides.Select(name => new GateSuite(
                    $"{heading.Name} {name} slice deltas",
                    sliceChecks.Where(check => check.Row.Side == name).Select(check => check.Check).ToList())));
                try
                {
                    JUnitWriter.Write(junitPath, $"warehouse gate {heading.Name}", suites, DateTime.UtcNow, stopwatch.Elapsed);
                }
                catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
                {
                    throw new ConfigurationException($"--junit {junitPath} could not be written: {problem.Message}");
                }

                await cli.Output.WriteLineAsync($"wrote JUnit XML to {junitPath} ({lockChecks.Count + sliceChecks.Count} test cases)");
            }

            if (writePath is not null)
            {
                WriteBaseline(writePath, heading, sides, locks, slices);
                await cli.Output.WriteLineAsync(
                    $"wrote the accepted baseline to {writePath}: {heading.CompareKey} {heading.Candidate}, "
                    + $"{slices.Count(row => row.ValueCandidate is not null)} slice-metrics, {locks.Count} lock statuses");
            }

            await cli.Output.WriteLineAsync(
                $"gate: {(passed ? "PASSED" : "FAILED")} ({failedLocks} locks failed, {missingLocks} missing, {regressed} slices regressed)");
            return passed ? ExitCodes.Success : ExitCodes.Failure;
        });
    }

    // ---- checks ----------------------------------------------------------------------------

    private static (GateCheck Check, string Status) CheckLock(ComparisonHeading heading, LockRow row, PinnedBaseline? pinned)
    {
        var className = $"{heading.Name}.locks";
        var details = LockDetails(heading, row);
        if (pinned is not null)
        {
            var accepted = pinned.Locks?.FirstOrDefault(known => known.LockName == row.LockName)?.Status;
            if (accepted is not null)
            {
                // Pinned: only a lock that was passed when the baseline was accepted and is not passed now fails.
                return accepted == "passed" && row.Status != "passed"
                    ? (new GateCheck(className, row.LockName, CheckOutcome.Failed, row.Status,
                        $"{row.Status} (passed in the accepted baseline): {LockReason(heading, row)}", details), row.Status)
                    : (new GateCheck(className, row.LockName, CheckOutcome.Passed), row.Status);
            }
        }

        return row.Status == "passed"
            ? (new GateCheck(className, row.LockName, CheckOutcome.Passed), row.Status)
            : (new GateCheck(className, row.LockName, CheckOutcome.Failed, row.Status, $"{row.Status}: {LockReason(heading, row)}", details), row.Status);
    }

    /// <summary>Why a lock did not pass: the score against min_score, or that the case did not pass, or that it did not run.</summary>
    private static string LockReason(ComparisonHeading heading, LockRow row)
    {
        if (row.Status == "missing")
        {
            return $"no result for case {row.CaseId} of {row.DatasetId}{(row.Metric is null ? "" : $" ({row.Metric})")} on {heading.CompareKey} {heading.Candidate}";
        }

        var what = row.MinScore is { } min
            ? $"lowest score {Number(row.LowestScore)} < min_score {Number(min)}"
            : $"case did not pass (lowest score {Number(row.LowestScore)})";
        return row.Status == "failed"
            ? $"{what}; {row.MetricsFailed} of {row.MetricsChecked} metric{(row.MetricsChecked == 1 ? "" : "s")} failed in run {row.LastEvalRunId ?? "-"}"
            : "passed";
    }

    private static string LockDetails(ComparisonHeading heading, LockRow row) =>
        string.Join('\n', new[]
        {
            row.Title is null ? null : $"title: {row.Title}",
            row.IncidentUrl is null ? null : $"incident: {row.IncidentUrl}",
            $"case: {row.DatasetId} / {row.CaseId}{(row.Metric is null ? " (every metric)" : $" ({row.Metric})")}",
            row.MinScore is { } min ? $"min_score: {Number(min)}" : "must pass (is_passed)",
            $"{heading.CompareKey} {heading.Candidate}: {row.Status}",
            $"{heading.CompareKey} {heading.Baseline}: {row.BaselineStatus ?? "-"}",
        }.Where(line => line is not null));

    private static (GateCheck Check, SliceRow Row) CheckSlice(ComparisonHeading heading, SliceRow row, double? alpha)
    {
        var className = $"{heading.Name}.{row.Side}";
        var name = CaseName(row);
        if (!HasEnoughData(row.NBaseline, row.NCandidate) || row.PAdjusted is null)
        {
            return (new GateCheck(className, name, CheckOutcome.Skipped, Message: InsufficientData(row)), row);
        }

        var regressed = alpha is { } level
            ? row.PAdjusted < level && row.Delta is { } delta && (row.HigherIsBetter ? delta < 0 : delta > 0)
            : row.Verdict == "regressed";
        return regressed
            ? (new GateCheck(className, name, CheckOutcome.Failed, "regressed",
                $"regressed: baseline {DeltasCommand.Value(row.Metric, row.ValueBaseline)}, candidate {DeltasCommand.Value(row.Metric, row.ValueCandidate)}, "
                + $"delta {DeltasCommand.Delta(row.Metric, row.Delta, row.CiLow, row.CiHigh)}, p_adjusted {DeltasCommand.PValue(row.PAdjusted)}",
                SliceDetails(row)), row)
            : (new GateCheck(className, name, CheckOutcome.Passed), row);
    }

    /// <summary>
    /// Against a pinned baseline: the slice fails when its candidate value is worse than the
    /// accepted value by more than the accepted value's 95 % CI half-width (recorded in the file).
    /// </summary>
    private static (GateCheck Check, SliceRow Row) CheckPinnedSlice(ComparisonHeading heading, SliceRow row, PinnedBaseline pinned)
    {
        var className = $"{heading.Name}.{row.Side}";
        var name = CaseName(row);
        var accepted = pinned.Slices?.FirstOrDefault(slice => slice.Matches(row));
        if (accepted is null)
        {
            return (new GateCheck(className, name, CheckOutcome.Skipped, Message: "not in the accepted baseline"), row);
        }

        if (row.ValueCandidate is not { } current || accepted.Value is not { } value || accepted.CiHalfWidth is not { } tolerance || !double.IsFinite(tolerance)
            || (row.NCandidate ?? 0) < MinimumObservations || (accepted.N ?? 0) < MinimumObservations)
        {
            return (new GateCheck(className, name, CheckOutcome.Skipped,
                Message: $"insufficient data (n {Count(accepted.N)} accepted, {Count(row.NCandidate)} now; at least {MinimumObservations} each)"), row);
        }

        var worse = row.HigherIsBetter ? value - current : current - value;
        // 1e-12: floating-point noise around equal values is not a change.
        return worse > tolerance + 1e-12
            ? (new GateCheck(className, name, CheckOutcome.Failed, "regressed",
                $"worse than accepted: accepted {DeltasCommand.Value(row.Metric, value)}, candidate {DeltasCommand.Value(row.Metric, current)}, "
                + $"change {DeltasCommand.Delta(row.Metric, current - value, null, null)}, tolerance ±{Tolerance(row.Metric, tolerance)}",
                SliceDetails(row)), row)
            : (new GateCheck(className, name, CheckOutcome.Passed), row);
    }

    private static bool HasEnoughData(long? nBaseline, long? nCandidate) =>
        (nBaseline ?? 0) >= MinimumObservations && (nCandidate ?? 0) >= MinimumObservations;

    private static string InsufficientData(SliceRow row) =>
        $"insufficient data (n {Count(row.NBaseline)}/{Count(row.NCandidate)}; at least {MinimumObservations} per arm)";

    private static string CaseName(SliceRow row) => $"{row.Metric} [{DeltasCommand.Slice(row.Labels)}]";

    private static string SliceDetails(SliceRow row) =>
        $"side: {row.Side}\nmetric: {row.Metric}\nslice: {DeltasCommand.Slice(row.Labels)} ({row.SliceLevel})\n"
        + $"n: {Count(row.NBaseline)} baseline, {Count(row.NCandidate)} candidate\n"
        + $"baseline: {DeltasCommand.Value(row.Metric, row.ValueBaseline)}\ncandidate: {DeltasCommand.Value(row.Metric, row.ValueCandidate)}\n"
        + $"delta [95% CI]: {DeltasCommand.Delta(row.Metric, row.Delta, row.CiLow, row.CiHigh)}\np_adjusted: {DeltasCommand.PValue(row.PAdjusted)}";

    private static string Tolerance(string metric, double tolerance) =>
        DeltasCommand.Delta(metric, tolerance, null, null).TrimStart('+');

    private static string Number(double? value) => value?.ToString("0.###", CultureInfo.InvariantCulture) ?? "-";

    private static string Count(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";

    // ---- report ----------------------------------------------------------------------------

    private async Task WriteReportAsync(ComparisonHeading heading, IReadOnlyList<string> sides, double? alpha, PinnedBaseline? pinned, string? pinnedPath,
        IReadOnlyList<LockRow> locks, IReadOnlyList<(GateCheck Check, string Status)> lockChecks,
        IReadOnlyList<SliceRow> slices, IReadOnlyList<(GateCheck Check, SliceRow Row)> sliceChecks)
    {
        var output = cli.Output;
        var rule = pinned is null
            ? $"a slice fails on p_adjusted < {(alpha ?? 0.05).ToString(CultureInfo.InvariantCulture)} for the worse"
            : $"against the accepted baseline {pinnedPath} ({pinned.CompareKey} {pinned.Candidate}, written {pinned.WrittenAt ?? "-"}): "
              + "a slice fails when worse than accepted by more than its CI half-width";
        await output.WriteLineAsync(
            $"gate {heading.Name}: {heading.CompareKey} {heading.Baseline} -> {heading.Candidate}; sides {string.Join(", ", sides)}; {rule}");

        await output.WriteLineAsync(locks.Count == 0 ? "locks: none registered" : $"locks on {heading.CompareKey} {heading.Candidate}:");
        var width = locks.Count == 0 ? 0 : locks.Max(row => row.LockName.Length);
        foreach (var (check, status) in lockChecks)
        {
            var row = locks.First(known => known.LockName == check.Name);
            var reason = status == "passed" ? "" : "  " + LockReason(heading, row);
            var verdict = check.Outcome != CheckOutcome.Failed && status != "passed" ? "  (not passed when the baseline was accepted: not gated)" : "";
            await output.WriteLineAsync(
                $"  {status,-7}  {row.LockName.PadRight(width)}{reason}  (baseline {heading.Baseline}: {row.BaselineStatus ?? "-"}){verdict}".TrimEnd());
        }

        foreach (var name in sides)
        {
            var sideChecks = sliceChecks.Where(check => check.Row.Side == name).ToList();
            await output.WriteLineAsync(sideChecks.Count == 0
                ? $"{name}: no slice deltas (no {(name == "offline" ? "eval records" : "traces")} carry the baseline or candidate value)"
                : $"{name}: {sideChecks.Count} slice-metrics, {sideChecks.Count(check => check.Check.Outcome == CheckOutcome.Failed)} regressed, "
                  + $"{sideChecks.Count(check => check.Check.Outcome == CheckOutcome.Skipped)} skipped (insufficient data{(pinned is null ? "" : " or not pinned")})");
        }

        var failing = sliceChecks.Where(check => check.Check.Outcome == CheckOutcome.Failed).Select(check => check.Row)
            .OrderBy(row => row.Side, StringComparer.Ordinal).ThenBy(row => row.PAdjusted ?? 1).ThenBy(row => row.Metric, StringComparer.Ordinal)
            .ToList();
        if (failing.Count > 0)
        {
            await output.WriteLineAsync("regressed slices:");
            foreach (var row in failing)
            {
                if (pinned is null)
                {
                    await output.WriteLineAsync(
                        $"  {row.Side}  {row.Metric}  {DeltasCommand.Slice(row.Labels)}: baseline {DeltasCommand.Value(row.Metric, row.ValueBaseline)}, "
                        + $"candidate {DeltasCommand.Value(row.Metric, row.ValueCandidate)}, delta {DeltasCommand.Delta(row.Metric, row.Delta, row.CiLow, row.CiHigh)}, "
                        + $"p_adjusted {DeltasCommand.PValue(row.PAdjusted)}");
                }
                else
                {
                    var check = sliceChecks.First(known => ReferenceEquals(known.Row, row)).Check;
                    await output.WriteLineAsync($"  {row.Side}  {row.Metric}  {DeltasCommand.Slice(row.Labels)}: {check.Message}");
                }
            }
        }

        if (locks.Count == 0 && slices.Count == 0)
        {
            await cli.Error.WriteLineAsync(
                $"warehouse: hint: the gate checked nothing: no locks are registered and no eval records or traces carry {heading.CompareKey} "
                + $"{heading.Baseline} or {heading.Candidate}; load the eval results before gating");
        }
    }

    // ---- baseline file ---------------------------------------------------------------------

    private static void WriteBaseline(string path, ComparisonHeading heading, IReadOnlyList<string> sides, IReadOnlyList<LockRow> locks, IReadOnlyList<SliceRow> slices)
    {
        var file = new PinnedBaseline
        {
            Format = BaselineFormat,
            FormatVersion = BaselineFormatVersion,
            Comparison = heading.Name,
            CompareKey = heading.CompareKey,
            Baseline = heading.Baseline,
            Candidate = heading.Candidate,
            Sides = [.. sides],
            WrittenAt = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            Slices = slices.Where(row => row.ValueCandidate is not null).Select(row => new PinnedSlice
            {
                Side = row.Side,
                Metric = row.Metric,
                HigherIsBetter = row.HigherIsBetter,
                SliceLevel = row.SliceLevel,
                Feature = Label(row, "feature"),
                Intent = Label(row, "intent"),
                Language = Label(row, "language"),
                CustomerTier = Label(row, "customer_tier"),
                OutputFormat = Label(row, "output_format"),
                ContextBand = Label(row, "context_band"),
                Value = row.ValueCandidate,
                N = row.NCandidate,
                CiHalfWidth = row.CiLow is { } low && row.CiHigh is { } high ? (high - low) / 2 : null,
            }).ToList(),
            Locks = locks.Select(row => new PinnedLock { LockName = row.LockName, Status = row.Status }).ToList(),
        };
        try
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(folder))
            {
                Directory.CreateDirectory(folder);
            }

            File.WriteAllText(path, JsonSerializer.Serialize(file, JsonOptions) + "\n");
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ConfigurationException($"--write-baseline {path} could not be written: {problem.Message}");
        }
    }

    private static string Label(SliceRow row, string name) => row.Labels.First(label => label.Name == name).Value;

    private static PinnedBaseline ReadBaseline(string path)
    {
        PinnedBaseline? file;
        try
        {
            file = JsonSerializer.Deserialize<PinnedBaseline>(File.ReadAllText(path), JsonOptions);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ConfigurationException($"--baseline-from {path} could not be read: {problem.Message}");
        }
        catch (JsonException problem)
        {
            throw new ConfigurationException($"--baseline-from {path} is not valid JSON: {problem.Message}");
        }

        if (file is null || file.Format != BaselineFormat || file.Slices is null || file.Locks is null)
        {
            throw new ConfigurationException(
                $"--baseline-from {path} is not a gate baseline (\"format\": \"{BaselineFormat}\" with \"slices\" and \"locks\"); write one with --write-baseline");
        }

        if (file.FormatVersion > BaselineFormatVersion)
        {
            throw new ConfigurationException(
                $"--baseline-from {path} has format_version {file.FormatVersion}; this warehouse reads version {BaselineFormatVersion}, upgrade it");
        }

        return file;
    }

    // ---- reading ---------------------------------------------------------------------------

    private static async Task<List<LockRow>> ReadLocksAsync(WarehouseEngine engine, DbConnection connection, ComparisonHeading heading,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = engine.Sql(
            "select lock_name, title, incident_url, dataset_id, case_id, metric, min_score, version, status, "
            + "metrics_checked, metrics_failed, lowest_score, last_eval_run_id "
            + "from quality.lock_status where version_key = @compareKey and version in (@baseline, @candidate) order by lock_name");
        command.CommandTimeout = 0;
        AddParameter(command, "compareKey", heading.CompareKey);
        AddParameter(command, "baseline", heading.Baseline);
        AddParameter(command, "candidate", heading.Candidate);
        var candidate = new List<LockRow>();
        var baselineStatus = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            object? Get(int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetValue(ordinal);
            var lockName = (string)Get(0)!;
            var version = (string)Get(7)!;
            var status = (string)Get(8)!;
            if (version == heading.Baseline)
            {
                baselineStatus[lockName] = status;
            }

            if (version == heading.Candidate)
            {
                candidate.Add(new LockRow(lockName, Get(1) as string, Get(2) as string, (string)Get(3)!, (string)Get(4)!, Get(5) as string,
                    Real(Get(6)), status, Integer(Get(9)) ?? 0, Integer(Get(10)) ?? 0, Real(Get(11)), Get(12)?.ToString(), null));
            }
        }

        return candidate.Select(row => row with { BaselineStatus = baselineStatus.GetValueOrDefault(row.LockName) }).ToList();
    }

    private static async Task<List<SliceRow>> ReadSlicesAsync(WarehouseEngine engine, DbConnection connection, string comparisonName,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = engine.Sql(
            "select side, metric, higher_is_better, slice_level, " + string.Join(", ", LabelColumns)
            + ", n_baseline, n_candidate, value_baseline, value_candidate, delta, ci_low, ci_high, p_adjusted, verdict "
            + "from quality.slice_deltas where comparison_name = @comparisonName "
            + "order by side, metric, slice_level, " + string.Join(", ", LabelColumns));
        command.CommandTimeout = 0;
        AddParameter(command, "comparisonName", comparisonName);
        var rows = new List<SliceRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            object? Get(int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetValue(ordinal);
            var labels = LabelColumns.Select((name, index) => (name, Get(4 + index)?.ToString() ?? "*")).ToList();
            var next = 4 + LabelColumns.Length;
            rows.Add(new SliceRow(
                (string)Get(0)!,
                (string)Get(1)!,
                Convert.ToBoolean(Get(2), CultureInfo.InvariantCulture),
                (string)Get(3)!,
                labels,
                Integer(Get(next)),
                Integer(Get(next + 1)),
                Real(Get(next + 2)),
                Real(Get(next + 3)),
                Real(Get(next + 4)),
                Real(Get(next + 5)),
                Real(Get(next + 6)),
                Real(Get(next + 7)),
                Get(next + 8)?.ToString() ?? ""));
        }

        return rows;
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
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

    private sealed record LockRow(
        string LockName,
        string? Title,
        string? IncidentUrl,
        string DatasetId,
        string CaseId,
        string? Metric,
        double? MinScore,
        string Status,
        long MetricsChecked,
        long MetricsFailed,
        double? LowestScore,
        string? LastEvalRunId,
        string? BaselineStatus);

    private sealed record SliceRow(
        string Side,
        string Metric,
        bool HigherIsBetter,
        string SliceLevel,
        IReadOnlyList<(string Name, string Value)> Labels,
        long? NBaseline,
        long? NCandidate,
        double? ValueBaseline,
        double? ValueCandidate,
        double? Delta,
        double? CiLow,
        double? CiHigh,
        double? PAdjusted,
        string Verdict);

    /// <summary>The --write-baseline file: the accepted candidate's values per side, metric and slice, and its lock statuses.</summary>
    private sealed class PinnedBaseline
    {
        public string? Format { get; set; }
        public int FormatVersion { get; set; }
        public string? Comparison { get; set; }
        public string? CompareKey { get; set; }
        public string? Baseline { get; set; }
        public string? Candidate { get; set; }
        public List<string>? Sides { get; set; }
        public string? WrittenAt { get; set; }
        public List<PinnedSlice>? Slices { get; set; }
        public List<PinnedLock>? Locks { get; set; }
    }

    private sealed class PinnedSlice
    {
        public string? Side { get; set; }
        public string? Metric { get; set; }
        public bool HigherIsBetter { get; set; }
        public string? SliceLevel { get; set; }
        public string? Feature { get; set; }
        public string? Intent { get; set; }
        public string? Language { get; set; }
        public string? CustomerTier { get; set; }
        public string? OutputFormat { get; set; }
        public string? ContextBand { get; set; }
        public double? Value { get; set; }
        public long? N { get; set; }
        public double? CiHalfWidth { get; set; }

        public bool Matches(SliceRow row) =>
            Side == row.Side && Metric == row.Metric && SliceLevel == row.SliceLevel
            && Feature == Label(row, "feature") && Intent == Label(row, "intent") && Language == Label(row, "language")
            && CustomerTier == Label(row, "customer_tier") && (OutputFormat ?? "*") == Label(row, "output_format")
            && ContextBand == Label(row, "context_band");
    }

    private sealed class PinnedLock
    {
        public string? LockName { get; set; }
        public string? Status { get; set; }
    }
}
