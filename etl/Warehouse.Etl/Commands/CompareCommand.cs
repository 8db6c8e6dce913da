using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using System.Text.RegularExpressions;
using Dapper;
using Warehouse.Configuration;
using Warehouse.Engines;

namespace Warehouse.Commands;

/// <summary>
/// Registers the comparisons the analysis views compute (quality.comparisons): which version
/// key, which baseline and candidate value, and optional online time windows per arm.
/// </summary>
public sealed partial class CompareCommand(Cli cli)
{
    /// <summary>The version keys a comparison may compare on (the check constraint of quality.comparisons).</summary>
    public static readonly string[] CompareKeys =
        ["model_version", "prompt_version", "retriever_version", "guardrail_version", "experiment_bucket"];

    // The width of the text columns in quality.comparisons.
    private const int MaxTextLength = 200;

    private const string Columns =
        "comparison_name, compare_key, baseline, candidate, baseline_from, baseline_to, candidate_from, candidate_to, created_at";

    private const DateTimeStyles UtcStyles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;

    public Command Build()
    {
        var compare = new Command("compare", "register, list and remove comparisons (baseline vs candidate on one version key)");
        compare.Subcommands.Add(BuildAdd());
        compare.Subcommands.Add(BuildList());
        compare.Subcommands.Add(BuildRemove());
        return compare;
    }

    private Command BuildAdd()
    {
        var name = new Option<string>("--name") { Description = "the comparison's name, e.g. refund-v4", Required = true };
        var key = new Option<string>("--key") { Description = "the version key: " + string.Join(", ", CompareKeys), Required = true };
        var baseline = new Option<string>("--baseline") { Description = "the baseline value of the key, e.g. refund-v3", Required = true };
        var candidate = new Option<string>("--candidate") { Description = "the candidate value of the key, e.g. refund-v4", Required = true };
        var baselineFrom = new Option<string?>("--baseline-from") { Description = "online: baseline traces started at or after this ISO-8601 time (zone-less = UTC)" };
        var baselineTo = new Option<string?>("--baseline-to") { Description = "online: baseline traces started before this ISO-8601 time" };
        var candidateFrom = new Option<string?>("--candidate-from") { Description = "online: candidate traces started at or after this ISO-8601 time" };
        var candidateTo = new Option<string?>("--candidate-to") { Description = "online: candidate traces started before this ISO-8601 time" };
        var replace = new Option<bool>("--replace") { Description = "replace a comparison of the same name instead of refusing" };
        var command = new Command("add", "register a comparison")
        {
            name, key, baseline, candidate, baselineFrom, baselineTo, candidateFrom, candidateTo, replace,
        };
        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var comparison = new ComparisonDefinition(
                Text(parseResult.GetValue(name), "--name"),
                Key(parseResult.GetValue(key)),
                Text(parseResult.GetValue(baseline), "--baseline"),
                Text(parseResult.GetValue(candidate), "--candidate"),
                Timestamp(parseResult.GetValue(baselineFrom), "--baseline-from"),
                Timestamp(parseResult.GetValue(baselineTo), "--baseline-to"),
                Timestamp(parseResult.GetValue(candidateFrom), "--candidate-from"),
                Timestamp(parseResult.GetValue(candidateTo), "--candidate-to"));
            Window(comparison.BaselineFrom, comparison.BaselineTo, "--baseline-from", "--baseline-to");
            Window(comparison.CandidateFrom, comparison.CandidateTo, "--candidate-from", "--candidate-to");
            if (comparison.Baseline == comparison.Candidate && !comparison.HasWindows)
            {
                throw new ConfigurationException(
                    $"--baseline and --candidate are both '{comparison.Baseline}'; give two different values, "
                    + "or time windows (--baseline-from/--baseline-to, --candidate-from/--candidate-to) to compare one version before and after");
            }

            var engine = cli.OpenWarehouse(parseResult, out _);
            await using var connection = await engine.OpenAsync(cancellationToken);
            var existing = await FindAsync(engine, connection, comparison.Name, cancellationToken);
            var replaced = false;
            if (existing is not null)
            {
                if (!parseResult.GetValue(replace))
                {
                    throw new ConfigurationException(
                        $"a comparison named '{comparison.Name}' already exists ({existing.CompareKey} {existing.Baseline} -> {existing.Candidate}); "
                        + "add --replace to overwrite it, or choose another --name");
                }

                await connection.ExecuteAsync(new CommandDefinition(engine.Sql(
                    "update quality.comparisons set compare_key = @compareKey, baseline = @baseline, candidate = @candidate, "
                    + "baseline_from = @baselineFrom, baseline_to = @baselineTo, candidate_from = @candidateFrom, candidate_to = @candidateTo "
                    + "where comparison_name = @name"),
                    Parameters(comparison, createdAt: null), cancellationToken: cancellationToken));
                replaced = true;
            }
            else
            {
                await connection.ExecuteAsync(new CommandDefinition(engine.Sql(
                    $"insert into quality.comparisons ({Columns}) values "
                    + "(@name, @compareKey, @baseline, @candidate, @baselineFrom, @baselineTo, @candidateFrom, @candidateTo, @createdAt)"),
                    Parameters(comparison, UtcNow()), cancellationToken: cancellationToken));
            }

            if (engine.RefreshStatisticsSql("quality.comparisons") is { } analyze)
            {
                await connection.ExecuteAsync(new CommandDefinition(analyze, cancellationToken: cancellationToken));
            }

            await cli.Output.WriteLineAsync(
                $"{(replaced ? "replaced" : "added")} comparison '{comparison.Name}': {comparison.CompareKey} {comparison.Baseline} -> {comparison.Candidate}"
                + Windows(comparison));
            await WarnAboutUnknownValuesAsync(engine, connection, comparison, cancellationToken);
            return ExitCodes.Success;
        });
    }

    private Command BuildList()
    {
        var format = new Option<string>("--format") { Description = "table (default), csv or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong(QueryOutput.Formats);
        var command = new Command("list", "print the registered comparisons") { format };
        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var engine = cli.OpenWarehouse(parseResult, out _);
            await using var connection = await engine.OpenAsync(cancellationToken);
            var chosenFormat = parseResult.GetValue(format)!;
            if (chosenFormat == "table" && await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    "select count(*) from quality.comparisons", cancellationToken: cancellationToken)) == 0)
            {
                await cli.Output.WriteLineAsync(NoComparisonsHint);
                return ExitCodes.Success;
            }

            await using var command = connection.CreateCommand();
            command.CommandText = $"select {Columns} from quality.comparisons order by comparison_name";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await QueryOutput.WriteAsync(reader, chosenFormat, cli.Output, cancellationToken);
            return ExitCodes.Success;
        });
    }

    private Command BuildRemove()
    {
        var name = new Option<string>("--name") { Description = "the comparison to remove", Required = true };
        var command = new Command("remove", "remove a comparison") { name };
        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var comparisonName = parseResult.GetValue(name)!;
            var engine = cli.OpenWarehouse(parseResult, out _);
            await using var connection = await engine.OpenAsync(cancellationToken);
            var removed = await connection.ExecuteAsync(new CommandDefinition(
                engine.Sql("delete from quality.comparisons where comparison_name = @name"),
                new { name = comparisonName }, cancellationToken: cancellationToken));
            if (removed == 0)
            {
                throw new ConfigurationException(UnknownComparison(comparisonName, await NamesAsync(connection, cancellationToken)));
            }

            await cli.Output.WriteLineAsync($"removed comparison '{comparisonName}'");
            return ExitCodes.Success;
        });
    }

    public const string NoComparisonsHint =
        "no comparisons registered yet; add one, e.g.: warehouse compare add --name refund-v4 --key prompt_version --baseline refund-v3 --candidate refund-v4";

    /// <summary>The sentence for an unknown comparison name, listing the known ones.</summary>
    public static string UnknownComparison(string name, IReadOnlyList<string> known) =>
        $"no comparison named '{name}'; "
        + (known.Count == 0 ? "none are registered yet (see 'warehouse compare add')" : "known comparisons: " + string.Join(", ", known));

    public static async Task<IReadOnlyList<string>> NamesAsync(DbConnection connection, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<string>(new CommandDefinition(
            "select comparison_name from quality.comparisons order by comparison_name", cancellationToken: cancellationToken))).ToList();

    private static async Task<ComparisonDefinition?> FindAsync(WarehouseEngine engine, DbConnection connection, string name,
        CancellationToken cancellationToken)
    {
        var stored = await connection.QuerySingleOrDefaultAsync<StoredComparison>(new CommandDefinition(
            engine.Sql("select compare_key as CompareKey, baseline as Baseline, candidate as Candidate "
                + "from quality.comparisons where comparison_name = @name"),
            new { name }, cancellationToken: cancellationToken));
        return stored is null ? null : new ComparisonDefinition(name, stored.CompareKey, stored.Baseline, stored.Candidate, null, null, null, null);
    }

    /// <summary>
    /// A typo check: a value no eval record and no trace carries yet is most often misspelt. It
    /// may also be a version not loaded yet, so this warns and the comparison is still saved.
    /// </summary>
    private async Task WarnAboutUnknownValuesAsync(WarehouseEngine engine, DbConnection connection, ComparisonDefinition comparison,
        CancellationToken cancellationToken)
    {
        // compare_key is one of CompareKeys (checked above), so it is safe to name as a column.
        var key = comparison.CompareKey;
        var known = (await connection.QueryAsync<string>(new CommandDefinition(
            $"select {key} from quality.eval_records union select {key} from quality.trace_summaries",
            cancellationToken: cancellationToken))).Order(StringComparer.Ordinal).ToList();
        if (known.Count == 0)
        {
            await cli.Error.WriteLineAsync(
                $"warehouse: hint: nothing is loaded yet, so {key} '{comparison.Baseline}' and '{comparison.Candidate}' could not be checked "
                + "for typos; the comparison fills in once eval records or traces carrying them are loaded.");
            return;
        }

        var unknown = new[] { (Option: "--baseline", Value: comparison.Baseline), (Option: "--candidate", Value: comparison.Candidate) }
            .DistinctBy(given => given.Value)
            .Where(given => !known.Contains(given.Value, StringComparer.Ordinal));
        foreach (var (option, value) in unknown)
        {
            await cli.Error.WriteLineAsync(
                $"warehouse: hint: no eval record or trace has {key} = '{value}' ({option}); check the spelling "
                + $"(values loaded for {key}: {string.Join(", ", known.Take(20))}{(known.Count > 20 ? $" and {known.Count - 20} more" : "")}). "
                + "The comparison is saved and fills in once such data is loaded.");
        }
    }

    private static object Parameters(ComparisonDefinition comparison, DateTime? createdAt) => new
    {
        name = comparison.Name,
        compareKey = comparison.CompareKey,
        baseline = comparison.Baseline,
        candidate = comparison.Candidate,
        baselineFrom = comparison.BaselineFrom,
        baselineTo = comparison.BaselineTo,
        candidateFrom = comparison.CandidateFrom,
        candidateTo = comparison.CandidateTo,
        createdAt,
    };

    private static string Windows(ComparisonDefinition comparison)
    {
        static string Window(DateTime? from, DateTime? to) =>
            $"[{(from is null ? "any" : QueryOutput.Format(from))}, {(to is null ? "any" : QueryOutput.Format(to))})";

        return comparison.HasWindows
            ? $" (online windows: baseline {Window(comparison.BaselineFrom, comparison.BaselineTo)}, candidate {Window(comparison.CandidateFrom, comparison.CandidateTo)})"
            : "";
    }

    private static string Text(string? value, string option)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            throw new ConfigurationException($"{option} must not be empty");
        }

        if (trimmed.Length > MaxTextLength)
        {
            throw new ConfigurationException($"{option} is {trimmed.Length} characters long; at most {MaxTextLength} fit");
        }

        return trimmed;
    }

    private static string Key(string? value)
    {
        var key = value?.Trim().ToLowerInvariant();
        return CompareKeys.Contains(key)
            ? key!
            : throw new ConfigurationException($"--key '{value}' is not a version key; use one of {string.Join(", ", CompareKeys)}");
    }

    /// <summary>An ISO-8601 date or timestamp; zone-less means UTC, offsets are converted to UTC.</summary>
    internal static DateTime? Timestamp(string? text, string option)
    {
        if (text is null)
        {
            return null;
        }

        var trimmed = text.Trim();
        if (IsoDate().IsMatch(trimmed) && DateTimeOffset.TryParse(trimmed, CultureInfo.InvariantCulture, UtcStyles, out var parsed))
        {
            // Microsecond precision: every engine stores it exactly.
            var utc = parsed.UtcDateTime;
            return new DateTime(utc.Ticks - utc.Ticks % 10, DateTimeKind.Utc);
        }

        throw new ConfigurationException(
            $"{option} '{text}' is not an ISO-8601 timestamp; use e.g. 2026-11-20, 2026-11-20T10:00:00Z or 2026-11-20T10:00:00+01:00 (zone-less is UTC)");
    }

    private static void Window(DateTime? from, DateTime? to, string fromOption, string toOption)
    {
        if (from is not null && to is not null && from >= to)
        {
            throw new ConfigurationException($"{fromOption} must be before {toOption} (the window is from inclusive, to exclusive)");
        }
    }

    private static DateTime UtcNow()
    {
        var now = DateTime.UtcNow;
        return new DateTime(now.Ticks - now.Ticks % 10, DateTimeKind.Utc);
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$", RegexOptions.IgnoreCase)]
    private static partial Regex IsoDate();

    private sealed record StoredComparison(string CompareKey, string Baseline, string Candidate);

    private sealed record ComparisonDefinition(
        string Name,
        string CompareKey,
        string Baseline,
        string Candidate,
        DateTime? BaselineFrom,
        DateTime? BaselineTo,
        DateTime? CandidateFrom,
        DateTime? CandidateTo)
    {
        public bool HasWindows => BaselineFrom is not null || BaselineTo is not null || CandidateFrom is not null || CandidateTo is not null;
    }
}
