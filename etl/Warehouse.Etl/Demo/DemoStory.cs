using System.Data.Common;
using Dapper;
using Warehouse.Commands;
using Warehouse.Engines;

namespace Warehouse.Demo;

/// <summary>
/// Registers the demo's comparison and prints what the warehouse shows: better offline, worse
/// online for enterprise customers and long contexts, where the eval set is thin.
/// </summary>
public static class DemoStory
{
    public const string ComparisonName = "refund-v3-to-v4";

    private static readonly (string Title, string Sql, int MaxRows)[] Sections =
    [
        ("Offline and online, overall (quality.slice_deltas)",
            $"""
            select side, metric, n_baseline, n_candidate,
                   round(value_baseline, 3) as baseline, round(value_candidate, 3) as candidate,
                   round(delta, 3) as delta, round(ci_low, 3) as ci_low, round(ci_high, 3) as ci_high, verdict
            from quality.slice_deltas
            where comparison_name = '{ComparisonName}' and slice_level = 'overall'
                and metric in ('pass_rate:correctness', 'mean_score:correctness', 'complaint_rate', 'json_parse_failure_rate', 'error_rate')
            order by side, metric
            """, int.MaxValue),
        ("Where the two sides contradict each other (quality.divergences, top 8)",
            $"""
            select slice_level, feature, customer_tier, context_band,
                   offline_metric, round(offline_delta, 3) as offline_delta, offline_verdict,
                   online_metric, round(online_delta, 3) as online_delta, online_verdict
            from quality.divergences
            where comparison_name = '{ComparisonName}'
            order by online_p_adjusted
            """, 8),
        ("Online regressions in complaints and JSON failures (quality.slice_deltas, top 8)",
            $"""
            select metric, slice_level, feature, customer_tier, context_band, n_baseline, n_candidate,
                   round(value_baseline, 3) as baseline, round(value_candidate, 3) as candidate, verdict
            from quality.slice_deltas
            where comparison_name = '{ComparisonName}' and side = 'online' and verdict = 'regressed'
                and metric in ('complaint_rate', 'json_parse_failure_rate')
            order by p_adjusted
            """, 8),
        ("Where the eval set is blind (quality.slice_mix by context band and tier)",
            """
            select slice_level, customer_tier, context_band, n_traces, n_eval_cases,
                   round(production_share, 3) as production_share, round(eval_share, 3) as eval_share,
                   round(mix_ratio, 2) as mix_ratio
            from quality.slice_mix
            where slice_level in ('context_band', 'customer_tier')
            order by slice_level, mix_ratio desc
            """, int.MaxValue),
        ("Locks on the candidate (quality.lock_status)",
            $"""
            select lock_name, case_id, version, status, metrics_checked, metrics_failed
            from quality.lock_status
            where version_key = 'prompt_version' and version = '{DemoDataGenerator.CandidatePromptVersion}'
            order by lock_name
            """, int.MaxValue),
        ("Complaints the eval set cannot see (quality.coverage_gaps, top 5)",
            $"""
            select complaint_rank, slice_level, feature, customer_tier, context_band, n_traces, n_complaints, n_eval_cases
            from quality.coverage_gaps
            order by complaint_rank, slice_level, feature
            """, 5),
    ];

    public static async Task RegisterComparisonAsync(WarehouseEngine engine, CancellationToken cancellationToken)
    {
        await using var connection = await engine.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(engine.Sql(
            "insert into quality.comparisons (comparison_name, compare_key, baseline, candidate, created_at) "
            + "select @name, 'prompt_version', @baseline, @candidate, @createdAt "
            + "where not exists (select 1 from quality.comparisons where comparison_name = @name)"),
            new
            {
                name = ComparisonName,
                baseline = DemoDataGenerator.BaselinePromptVersion,
                candidate = DemoDataGenerator.CandidatePromptVersion,
                createdAt = DateTime.UtcNow,
            });
    }

    /// <summary>
    /// Three locks, as a team that fixed three bugs would have registered them: one the candidate still
    /// passes, one it broke again (passed on the baseline, fails on the candidate: aggregate scores
    /// improved, yet an old bug came back), and one on a case added after both eval runs, so it is
    /// missing on both (a lock that was not run is not a lock that passed). The cases are picked from
    /// the loaded eval records, in case order, so the same seed gives the same locks.
    /// </summary>
    public static async Task RegisterLocksAsync(WarehouseEngine engine, CancellationToken cancellationToken)
    {
        await using var connection = await engine.OpenAsync(cancellationToken);
        var results = (await connection.QueryAsync<(string CaseId, string Version, double? Score)>(new CommandDefinition(engine.Sql(
            "select case_id, prompt_version, score from quality.eval_records "
            + "where dataset_id = @dataset and metric = 'correctness' and prompt_version in (@baseline, @candidate)"),
            new { dataset = DemoDataGenerator.DatasetId, baseline = DemoDataGenerator.BaselinePromptVersion, candidate = DemoDataGenerator.CandidatePromptVersion },
            cancellationToken: cancellationToken))).ToList();
        var byCase = results.GroupBy(result => result.CaseId).OrderBy(group => group.Key, StringComparer.Ordinal).ToList();
        bool Passed(IGrouping<string, (string CaseId, string Version, double? Score)> group, string version) =>
            group.Where(result => result.Version == version).Select(result => result.Score).DefaultIfEmpty(null).All(score => score >= 1);
        var held = byCase.FirstOrDefault(group => group.Count() >= 2 && Passed(group, DemoDataGenerator.BaselinePromptVersion) && Passed(group, DemoDataGenerator.CandidatePromptVersion));
        var broken = byCase.FirstOrDefault(group => group.Count() >= 2 && Passed(group, DemoDataGenerator.BaselinePromptVersion) && !Passed(group, DemoDataGenerator.CandidatePromptVersion));

        var locks = new List<(string Name, string Title, string Incident, string CaseId)>();
        if (held is not null)
        {
            locks.Add(("refund-promised-twice", "Bot promised a second refund for an order already refunded", "https://tracker.example.com/INC-412", held.Key));
        }

        if (broken is not null)
        {
            locks.Add(("refund-window-misquoted", "Bot quoted a 90-day refund window; policy is 30 days", "https://tracker.example.com/INC-587", broken.Key));
        }

        locks.Add(("enterprise-cancel-end-of-term", "Enterprise cancellation confirmed immediately instead of at end of term", "https://tracker.example.com/INC-634", "case-9001"));
        foreach (var (name, title, incident, caseId) in locks)
        {
            await connection.ExecuteAsync(new CommandDefinition(engine.Sql(
                "insert into quality.locks (lock_name, title, incident_url, dataset_id, case_id, metric, created_at) "
                + "select @name, @title, @incident, @dataset, @caseId, 'correctness', @createdAt "
                + "where not exists (select 1 from quality.locks where lock_name = @name)"),
                new { name, title, incident, dataset = DemoDataGenerator.DatasetId, caseId, createdAt = DateTime.UtcNow },
                cancellationToken: cancellationToken));
        }
    }

    public static async Task PrintAsync(WarehouseEngine engine, TextWriter output, CancellationToken cancellationToken)
    {
        await using var connection = await engine.OpenAsync(cancellationToken);
        // The demo runs on any engine and T-SQL has no limit clause, so rows are cut while printing.
        foreach (var (title, sql, maxRows) in Sections)
        {
            await output.WriteLineAsync();
            await output.WriteLineAsync(title);
            await using DbCommand command = connection.CreateCommand();
            command.CommandText = sql;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await QueryOutput.WriteAsync(reader, "table", output, cancellationToken, maxRows);
        }
    }
}
