-- quality.trace_slices: production traffic aggregated for dashboards and trend charts.
-- Grain: one row per started_date × source × version keys × slice labels.
-- Rates are fractions in 0..1 of all traces in the row; latency in milliseconds, cost in USD.
-- started_date is the UTC day: a timestamptz cast to date would follow the session's time zone.
drop view if exists quality.trace_slices cascade;

create view quality.trace_slices as
with

trace_summaries as (
    select * from quality.trace_summaries
),

final as (
    select
        cast(started_at at time zone 'UTC' as date) as started_date,
        source,
        model_version,
        prompt_version,
        retriever_version,
        guardrail_version,
        experiment_bucket,
        feature,
        intent,
        language,
        customer_tier,
        output_format,
        context_band,
        count(*) as n_traces,
        cast(sum(case when has_complaint then 1 else 0 end) as bigint) as n_complaints,
        cast(avg(case when has_complaint then cast(1 as double precision) else cast(0 as double precision) end) as double precision) as complaint_rate,
        cast(sum(case when is_error then 1 else 0 end) as bigint) as n_errors,
        cast(avg(case when is_error then cast(1 as double precision) else cast(0 as double precision) end) as double precision) as error_rate,
        cast(sum(case when has_tool_parse_failure then 1 else 0 end) as bigint) as n_tool_parse_failures,
        cast(avg(case when has_tool_parse_failure then cast(1 as double precision) else cast(0 as double precision) end) as double precision) as tool_parse_failure_rate,
        cast(sum(case when has_json_parse_failure then 1 else 0 end) as bigint) as n_json_parse_failures,
        cast(avg(case when has_json_parse_failure then cast(1 as double precision) else cast(0 as double precision) end) as double precision) as json_parse_failure_rate,
        cast(sum(case when is_retrieval_empty then 1 else 0 end) as bigint) as n_retrieval_empty,
        cast(avg(case when is_retrieval_empty then cast(1 as double precision) else cast(0 as double precision) end) as double precision) as retrieval_empty_rate,
        count(feedback_score) as n_feedback,
        avg(feedback_score) as mean_feedback_score,
        avg(latency_ms) as mean_latency_ms,
        avg(cost_usd) as mean_cost_usd,
        sum(cost_usd) as total_cost_usd,
        cast(sum(input_tokens) as bigint) as total_input_tokens,
        cast(sum(output_tokens) as bigint) as total_output_tokens
    from trace_summaries
    group by
        cast(started_at at time zone 'UTC' as date),
        source,
        model_version,
        prompt_version,
        retriever_version,
        guardrail_version,
        experiment_bucket,
        feature,
        intent,
        language,
        customer_tier,
        output_format,
        context_band
)

select * from final;
