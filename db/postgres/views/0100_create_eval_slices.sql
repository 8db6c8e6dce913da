-- quality.eval_slices: offline results aggregated for dashboards and trend charts.
-- Grain: one row per evaluated_date × source × version keys × dataset × judge × slice labels × metric.
-- Rates and scores are fractions in 0..1; pass_rate counts only records whose tool said pass or fail.
-- evaluated_date is the UTC day: a timestamptz cast to date would follow the session's time zone.
drop view if exists quality.eval_slices cascade;

create view quality.eval_slices as
with

eval_records as (
    select * from quality.eval_records
),

final as (
    select
        cast(evaluated_at at time zone 'UTC' as date) as evaluated_date,
        source,
        model_version,
        prompt_version,
        retriever_version,
        guardrail_version,
        experiment_bucket,
        dataset_id,
        dataset_version,
        judge_version,
        feature,
        intent,
        language,
        customer_tier,
        output_format,
        context_band,
        metric,
        count(*) as n_records,
        count(distinct dataset_id || chr(31) || case_id) as n_cases,
        count(score) as n_scored,
        avg(score) as mean_score,
        count(is_passed) as n_pass_known,
        cast(sum(case when is_passed then 1 else 0 end) as bigint) as n_passed,
        cast(avg(case when is_passed then cast(1 as double precision) when not is_passed then cast(0 as double precision) end) as double precision) as pass_rate,
        avg(latency_ms) as mean_latency_ms,
        sum(cost_usd) as total_cost_usd
    from eval_records
    group by
        cast(evaluated_at at time zone 'UTC' as date),
        source,
        model_version,
        prompt_version,
        retriever_version,
        guardrail_version,
        experiment_bucket,
        dataset_id,
        dataset_version,
        judge_version,
        feature,
        intent,
        language,
        customer_tier,
        output_format,
        context_band,
        metric
)

select * from final;
