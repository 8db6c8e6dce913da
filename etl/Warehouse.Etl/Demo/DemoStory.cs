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
