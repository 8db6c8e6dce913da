-- Report section "trend" (online): the production rates per version of each comparison's key, per day.
-- Grain: one row per comparison × version × started_date. version is the value of the
-- comparison's compare_key, so every version seen in production shows, not only the two compared.
-- Rates are over all traces of the day; mean latency and cost weight each trace_slices row's mean
-- (over its traces that report the value) by the row's traces.
with

comparisons as (
    select comparison_name, compare_key from quality.comparisons
),

trace_slices as (
    select * from quality.trace_slices
),

versioned as (
    select
        comparisons.comparison_name,
        case comparisons.compare_key
            when 'model_version' then trace_slices.model_version
            when 'prompt_version' then trace_slices.prompt_version
            when 'retriever_version' then trace_slices.retriever_version
            when 'guardrail_version' then trace_slices.guardrail_version
            when 'experiment_bucket' then trace_slices.experiment_bucket
        end as version,
        trace_slices.started_date,
        trace_slices.n_traces,
        trace_slices.n_complaints,
        trace_slices.n_errors,
        trace_slices.n_json_parse_failures,
        trace_slices.n_tool_parse_failures,
        trace_slices.mean_latency_ms,
        trace_slices.mean_cost_usd
    from comparisons
    cross join trace_slices
),

final as (
    select
        comparison_name,
        version,
        started_date,
        sum(n_traces) as n_traces,
        sum(n_complaints) as n_complaints,
        cast(sum(n_complaints) as double precision) / sum(n_traces) as complaint_rate,
        cast(sum(n_errors) as double precision) / sum(n_traces) as error_rate,
        cast(sum(n_json_parse_failures) as double precision) / sum(n_traces) as json_parse_failure_rate,
        cast(sum(n_tool_parse_failures) as double precision) / sum(n_traces) as tool_parse_failure_rate,
        sum(mean_latency_ms * n_traces) / nullif(sum(case when mean_latency_ms is null then 0 else n_traces end), 0) as mean_latency_ms,
        sum(mean_cost_usd * n_traces) / nullif(sum(case when mean_cost_usd is null then 0 else n_traces end), 0) as mean_cost_usd
    from versioned
    group by
        comparison_name,
        version,
        started_date
)

select * from final
order by
    comparison_name,
    version,
    started_date;
