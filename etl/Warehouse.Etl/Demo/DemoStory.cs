using System.Data.Common;
using Warehouse.Commands;
using Warehouse.Engines;

namespace Warehouse.Demo;

/// <summary>Prints what the loaded demo shows: better offline, worse online where the eval set is thin.</summary>
public static class DemoStory
{
    private static readonly (string Title, string Sql)[] Sections =
    [
        ("Offline: correctness pass rate by prompt version (the eval set says refund-v4 is better)",
            """
            select prompt_version,
                   count(*) as eval_cases,
                   round(avg(case when is_passed then 1.0 else 0.0 end), 3) as pass_rate
            from quality.eval_records
            where metric = 'correctness'
            group by prompt_version
            order by prompt_version
            """),
        ("Online: complaint rate by customer tier and prompt version (production disagrees for enterprise)",
            """
            select customer_tier,
                   prompt_version,
                   count(*) as traces,
                   round(avg(case when has_complaint then 1.0 else 0.0 end), 3) as complaint_rate,
                   round(avg(case when has_json_parse_failure then 1.0 else 0.0 end), 3) as json_failure_rate
            from quality.trace_summaries
            group by customer_tier, prompt_version
            order by customer_tier, prompt_version
            """),
        ("Where the eval set is blind: share of traffic vs share of eval cases per context band",
            """
            with traffic as (
                select context_band, count(*) as traces from quality.trace_summaries group by context_band
            ),
            evals as (
                select context_band, count(*) as eval_records from quality.eval_records group by context_band
            )
            select traffic.context_band,
                   round(cast(traffic.traces as double precision) / (select count(*) from quality.trace_summaries), 3) as production_share,
                   round(cast(coalesce(evals.eval_records, 0) as double precision) / (select count(*) from quality.eval_records), 3) as eval_share
            from traffic
            left join evals on evals.context_band = traffic.context_band
            order by case traffic.context_band when '<2k' then 1 when '2k-8k' then 2 when '8k-32k' then 3 when '>=32k' then 4 else 5 end
            """),
    ];

    public static async Task PrintAsync(WarehouseEngine engine, TextWriter output, CancellationToken cancellationToken)
    {
        await using var connection = await engine.OpenAsync(cancellationToken);
        foreach (var (title, sql) in Sections)
        {
            await output.WriteLineAsync();
            await output.WriteLineAsync(title);
            await using DbCommand command = connection.CreateCommand();
            command.CommandText = sql;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await QueryOutput.WriteAsync(reader, "table", output, cancellationToken);
        }
    }
}
