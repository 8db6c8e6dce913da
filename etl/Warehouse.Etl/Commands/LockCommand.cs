using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using Dapper;
using Warehouse.Configuration;
using Warehouse.Engines;

namespace Warehouse.Commands;

/// <summary>
/// Registers locks (quality.locks): a fixed bug pinned as a permanent regression case. A lock
/// names one eval case (dataset and case id), optionally one metric and a minimum score;
/// quality.lock_status then says per evaluated version whether it passed, failed or is missing.
/// </summary>
public sealed class LockCommand(Cli cli)
{
    // The widths of the text columns in quality.locks (migration 0005).
    internal const int MaxNameLength = 200;
    internal const int MaxTitleLength = 500;
    internal const int MaxUrlLength = 2000;
    internal const int MaxDatasetLength = 200;
    internal const int MaxCaseLength = 256;
    internal const int MaxMetricLength = 128;
    internal const int MaxTraceLength = 200;

    // How many candidate cases an ambiguous --from-trace error lists.
    private const int MaxListedCases = 20;

    private const string Columns =
        "lock_name, title, incident_url, dataset_id, case_id, metric, min_score, source_trace_id, created_at";

    public Command Build()
    {
        var command = new Command("lock", "register, list and remove locks (fixed bugs pinned as permanent regression cases)");
        command.Subcommands.Add(BuildAdd());
        command.Subcommands.Add(BuildList());
        command.Subcommands.Add(BuildRemove());
        return command;
    }

    private Command BuildAdd()
    {
        var name = new Option<string?>("--name") { Description = "the lock's name, e.g. refund-german-iban (default with --from-trace: the case id)" };
        var dataset = new Option<string?>("--dataset") { Description = "the eval dataset (dataset_id) of the case; with --from-trace it narrows the match" };
        var caseId = new Option<string?>("--case") { Description = "the eval case (case_id); with --from-trace it narrows the match" };
        var metric = new Option<string?>("--metric") { Description = "the metric that must hold (default: every metric of the case)" };
        var minScore = new Option<string?>("--min-score") { Description = "the lowest passing score, 0..1 (default: the case must pass, is_passed)" };
        var trace = new Option<string?>("--trace") { Description = "the production trace the bug was seen in (source_trace_id)" };
        var fromTrace = new Option<string?>("--from-trace")
        {
            Description = "find the eval case seeded from this production trace (eval records whose source_trace_id is it) and lock it",
        };
        var incident = new Option<string?>("--incident") { Description = "the incident or ticket URL, e.g. https://tracker.example.com/INC-42" };
        var title = new Option<string?>("--title") { Description = "a one-line description of the bug" };
        var replace = new Option<bool>("--replace") { Description = "replace a lock of the same name instead of refusing" };
        var command = new Command("add", "register a lock: --name, --dataset and --case, or --from-trace")
        {
            name, dataset, caseId, metric, minScore, trace, fromTrace, incident, title, replace,
        };
        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var givenName = Optional(parseResult.GetValue(name), "--name", MaxNameLength);
            var givenDataset = Optional(parseResult.GetValue(dataset), "--dataset", MaxDatasetLength);
            var givenCase = Optional(parseResult.GetValue(caseId), "--case", MaxCaseLength);
            var givenMetric = Optional(parseResult.GetValue(metric), "--metric", MaxMetricLength);
            var givenMinScore = MinScore(parseResult.GetValue(minScore));
            var givenTrace = Optional(parseResult.GetValue(trace), "--trace", MaxTraceLength);
            var givenFromTrace = Optional(parseResult.GetValue(fromTrace), "--from-trace", MaxTraceLength);
            var givenIncident = Url(parseResult.GetValue(incident));
            var givenTitle = Optional(parseResult.GetValue(title), "--title", MaxTitleLength);
            if (givenFromTrace is not null && givenTrace is not null && givenTrace != givenFromTrace)
            {
                throw new ConfigurationException(
                    $"--trace '{givenTrace}' and --from-trace '{givenFromTrace}' differ; --from-trace already records its trace, so give one of them");
            }

            if (givenFromTrace is null)
            {
                var missing = new[] { ("--name", givenName), ("--dataset", givenDataset), ("--case", givenCase) }
                    .Where(given => given.Item2 is null).Select(given => given.Item1).ToList();
                if (missing.Count > 0)
                {
                    throw new ConfigurationException(
                        $"{string.Join(", ", missing)} {(missing.Count == 1 ? "is" : "are")} required; give --name, --dataset and --case, "
                        + "or --from-trace T to find the eval case seeded from production trace T");
                }
            }

            var engine = cli.OpenWarehouse(parseResult, out _);
            await using var connection = await engine.OpenAsync(cancellationToken);
            if (givenFromTrace is not null)
            {
                (givenDataset, givenCase) = await FindCaseAsync(engine, connection, givenFromTrace, givenDataset, givenCase, cancellationToken);
                givenTrace = givenFromTrace;
                givenName ??= givenCase.Length <= MaxNameLength
                    ? givenCase
                    : throw new ConfigurationException(
                        $"the case id '{givenCase}' is {givenCase.Length} characters long, too long to name the lock (at most {MaxNameLength}); give --name");
            }

            var definition = new LockDefinition(
                givenName!, givenTitle, givenIncident, givenDataset!, givenCase!, givenMetric, givenMinScore, givenTrace);
            var existing = await FindAsync(engine, connection, definition.Name, cancellationToken);
            var replaced = false;
            if (existing is not null)
            {
                if (!parseResult.GetValue(replace))
                {
                    throw new ConfigurationException(
                        $"a lock named '{definition.Name}' already exists ({Describe(existing)}); add --replace to overwrite it, or choose another --name");
                }

                await connection.ExecuteAsync(new CommandDefinition(engine.Sql(
                    "update quality.locks set title = @title, incident_url = @incidentUrl, dataset_id = @datasetId, case_id = @caseId, "
                    + "metric = @metric, min_score = @minScore, source_trace_id = @sourceTraceId where lock_name = @name"),
                    Parameters(definition, createdAt: null), cancellationToken: cancellationToken));
                replaced = true;
            }
            else
            {
                await connection.ExecuteAsync(new CommandDefinition(engine.Sql(
                    $"insert into quality.locks ({Columns}) values "
                    + "(@name, @title, @incidentUrl, @datasetId, @caseId, @metric, @minScore, @sourceTraceId, @createdAt)"),
                    Parameters(definition, UtcNow()), cancellationToken: cancellationToken));
            }

            await cli.Output.WriteLineAsync($"{(replaced ? "replaced" : "added")} lock '{definition.Name}': {Describe(definition)}");
            await WarnAboutUnrunCaseAsync(engine, connection, definition, cancellationToken);
            return ExitCodes.Success;
        });
    }

    private Command BuildList()
    {
        var format = new Option<string>("--format") { Description = "table (default), csv or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong(QueryOutput.Formats);
        var versions = new Option<bool>("--versions")
        {
            Description = "one row per lock and evaluated version from quality.lock_status (passed, failed or missing) instead of one row per lock",
        };
        var command = new Command("list", "print the registered locks with how many versions passed, failed or never ran them") { format, versions };
        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var engine = cli.OpenWarehouse(parseResult, out _);
            await using var connection = await engine.OpenAsync(cancellationToken);
            var chosenFormat = parseResult.GetValue(format)!;
            if (chosenFormat == "table" && await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    "select count(*) from quality.locks", cancellationToken: cancellationToken)) == 0)
            {
                await cli.Output.WriteLineAsync(NoLocksHint);
                return ExitCodes.Success;
            }

            await using var command = connection.CreateCommand();
            command.CommandText = parseResult.GetValue(versions) ? VersionsSql : LocksSql;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await QueryOutput.WriteAsync(reader, chosenFormat, cli.Output, cancellationToken);
            return ExitCodes.Success;
        });
    }

    private Command BuildRemove()
    {
        var name = new Option<string>("--name") { Description = "the lock to remove", Required = true };
        var command = new Command("remove", "remove a lock") { name };
        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var lockName = parseResult.GetValue(name)!;
            var engine = cli.OpenWarehouse(parseResult, out _);
            await using var connection = await engine.OpenAsync(cancellationToken);
            var removed = await connection.ExecuteAsync(new CommandDefinition(
                engine.Sql("delete from quality.locks where lock_name = @name"),
                new { name = lockName }, cancellationToken: cancellationToken));
            if (removed == 0)
            {
                throw new ConfigurationException(UnknownLock(lockName, await NamesAsync(connection, cancellationToken)));
            }

            await cli.Output.WriteLineAsync($"removed lock '{lockName}'");
            return ExitCodes.Success;
        });
    }

    public const string NoLocksHint =
        "no locks registered yet; add one, e.g.: warehouse lock add --name refund-german-iban --dataset refund-golden --case case-017 "
        + "(or: warehouse lock add --from-trace TRACE_ID)";

    // One row per lock: its columns and how many evaluated versions passed, failed or never ran
    // it. The counts are grouped by lock name alone, so no engine groups the wide text columns.
    private const string LocksSql =
        "select locks.lock_name, locks.title, locks.incident_url, locks.dataset_id, locks.case_id, locks.metric, locks.min_score, "
        + "locks.source_trace_id, locks.created_at, "
        + "cast(coalesce(counts.versions_passed, 0) as bigint) as versions_passed, "
        + "cast(coalesce(counts.versions_failed, 0) as bigint) as versions_failed, "
        + "cast(coalesce(counts.versions_missing, 0) as bigint) as versions_missing "
        + "from quality.locks as locks left join ("
        + "select lock_name, "
        + "sum(case when status = 'passed' then 1 else 0 end) as versions_passed, "
        + "sum(case when status = 'failed' then 1 else 0 end) as versions_failed, "
        + "sum(case when status = 'missing' then 1 else 0 end) as versions_missing "
        + "from quality.lock_status group by lock_name"
        + ") as counts on counts.lock_name = locks.lock_name "
        + "order by locks.lock_name";

    private const string VersionsSql =
        "select lock_name, version_key, version, status, metrics_checked, metrics_failed, lowest_score, last_evaluated_at, last_eval_run_id "
        + "from quality.lock_status order by lock_name, version_key, version";

    /// <summary>The sentence for an unknown lock name, listing the known ones.</summary>
    public static string UnknownLock(string name, IReadOnlyList<string> known) =>
        $"no lock named '{name}'; "
        + (known.Count == 0 ? "none are registered yet (see 'warehouse lock add')" : "known locks: " + string.Join(", ", known));

    public static async Task<IReadOnlyList<string>> NamesAsync(DbConnection connection, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<string>(new CommandDefinition(
            "select lock_name from quality.locks order by lock_name", cancellationToken: cancellationToken))).ToList();

    /// <summary>
    /// The one eval case whose records carry <paramref name="trace"/> as source_trace_id,
    /// narrowed by --dataset and --case when given.
    /// </summary>
    private static async Task<(string Dataset, string Case)> FindCaseAsync(WarehouseEngine engine, DbConnection connection, string trace,
        string? dataset, string? caseId, CancellationToken cancellationToken)
    {
        var narrowed = (dataset is null ? "" : " and dataset_id = @dataset") + (caseId is null ? "" : " and case_id = @caseId");
        var matches = (await connection.QueryAsync<SeededCase>(new CommandDefinition(engine.Sql(
                "select distinct dataset_id as DatasetId, case_id as CaseId from quality.eval_records "
                + $"where source_trace_id = @trace{narrowed}"),
                new { trace, dataset, caseId }, cancellationToken: cancellationToken)))
            .OrderBy(match => match.DatasetId, StringComparer.Ordinal).ThenBy(match => match.CaseId, StringComparer.Ordinal)
            .ToList();
        var narrowing = (dataset is null ? "" : $" in dataset '{dataset}'") + (caseId is null ? "" : $" with case '{caseId}'");
        if (matches.Count == 0)
        {
            throw new ConfigurationException(
                $"no eval record{narrowing} has source_trace_id '{trace}'; load the eval results of the case seeded from that trace first "
                + "(see 'warehouse seed'), or give --name, --dataset and --case with --trace instead");
        }

        if (matches.Count > 1)
        {
            var listed = string.Join(", ", matches.Take(MaxListedCases).Select(match => $"dataset '{match.DatasetId ?? "(none)"}' case '{match.CaseId}'"));
            throw new ConfigurationException(
                $"{matches.Count} eval cases{narrowing} have source_trace_id '{trace}': {listed}"
                + (matches.Count > MaxListedCases ? $" and {matches.Count - MaxListedCases} more" : "")
                + "; narrow it with --dataset and/or --case");
        }

        var found = matches[0];
        if (found.DatasetId is null)
        {
            throw new ConfigurationException(
                $"the eval case '{found.CaseId}' with source_trace_id '{trace}' has no dataset_id, and a lock needs one; "
                + "give --name, --dataset and --case with --trace instead");
        }

        return (found.DatasetId, found.CaseId);
    }

    private static async Task<LockDefinition?> FindAsync(WarehouseEngine engine, DbConnection connection, string name,
        CancellationToken cancellationToken) =>
        await connection.QuerySingleOrDefaultAsync<LockDefinition>(new CommandDefinition(engine.Sql(
                "select lock_name as Name, title as Title, incident_url as IncidentUrl, dataset_id as DatasetId, case_id as CaseId, "
                + "metric as Metric, min_score as MinScore, source_trace_id as SourceTraceId from quality.locks where lock_name = @name"),
            new { name }, cancellationToken: cancellationToken));

    /// <summary>
    /// A typo check: a case no eval record carries yet is most often misspelt. It may also be a
    /// case not run yet, so this warns and the lock is still saved (it shows as missing).
    /// </summary>
    private async Task WarnAboutUnrunCaseAsync(WarehouseEngine engine, DbConnection connection, LockDefinition definition,
        CancellationToken cancellationToken)
    {
        var records = await connection.ExecuteScalarAsync<long>(new CommandDefinition(engine.Sql(
                "select count(*) from quality.eval_records where dataset_id = @datasetId and case_id = @caseId"
                + (definition.Metric is null ? "" : " and metric = @metric")),
            new { datasetId = definition.DatasetId, caseId = definition.CaseId, metric = definition.Metric },
            cancellationToken: cancellationToken));
        if (records == 0)
        {
            await cli.Error.WriteLineAsync(
                $"warehouse: hint: no eval record has dataset_id = '{definition.DatasetId}' and case_id = '{definition.CaseId}'"
                + (definition.Metric is null ? "" : $" and metric = '{definition.Metric}'")
                + "; check the spelling. The lock is saved and shows as missing until that case runs.");
        }
    }

    private static string Describe(LockDefinition definition) =>
        $"dataset '{definition.DatasetId}' case '{definition.CaseId}', "
        + (definition.Metric is null ? "every metric" : $"metric '{definition.Metric}'")
        + (definition.MinScore is null ? " must pass" : $" score >= {definition.MinScore.Value.ToString("0.###", CultureInfo.InvariantCulture)}")
        + (definition.SourceTraceId is null ? "" : $", trace '{definition.SourceTraceId}'")
        + (definition.IncidentUrl is null ? "" : $", incident {definition.IncidentUrl}");

    private static object Parameters(LockDefinition definition, DateTime? createdAt) => new
    {
        name = definition.Name,
        title = definition.Title,
        incidentUrl = definition.IncidentUrl,
        datasetId = definition.DatasetId,
        caseId = definition.CaseId,
        metric = definition.Metric,
        minScore = definition.MinScore,
        sourceTraceId = definition.SourceTraceId,
        createdAt,
    };

    /// <summary>An optional text option: trimmed, not blank when given, within its column's width.</summary>
    private static string? Optional(string? value, string option, int maxLength)
    {
        if (value is null)
        {
            return null;
        }

        var trimmed = value.Trim();
        if (trimmed.Length == 0)
        {
            throw new ConfigurationException($"{option} must not be empty");
        }

        if (trimmed.Length > maxLength)
        {
            throw new ConfigurationException($"{option} is {trimmed.Length} characters long; at most {maxLength} fit");
        }

        return trimmed;
    }

    internal static double? MinScore(string? text)
    {
        if (text is null)
        {
            return null;
        }

        return double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var score) && score is >= 0 and <= 1
            ? score
            : throw new ConfigurationException($"--min-score '{text}' is not a number from 0 to 1 (scores are normalised to 0..1), e.g. 0.8");
    }

    internal static string? Url(string? text)
    {
        var url = Optional(text, "--incident", MaxUrlLength);
        if (url is null)
        {
            return null;
        }

        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            && !string.IsNullOrEmpty(uri.Host) && !url.Any(char.IsWhiteSpace)
            ? url
            : throw new ConfigurationException($"--incident '{text}' is not a well-formed http(s) URL, e.g. https://tracker.example.com/INC-42");
    }

    private static DateTime UtcNow()
    {
        var now = DateTime.UtcNow;
        return new DateTime(now.Ticks - now.Ticks % 10, DateTimeKind.Utc);
    }

    private sealed record SeededCase(string? DatasetId, string CaseId);

    private sealed record LockDefinition(
        string Name,
        string? Title,
        string? IncidentUrl,
        string DatasetId,
        string CaseId,
        string? Metric,
        double? MinScore,
        string? SourceTraceId);
}
