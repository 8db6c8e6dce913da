-- quality.eval_slices: offline results aggregated for dashboards and trend charts.
-- Grain: one row per evaluated_date × source × version keys × dataset × judge × slice labels × metric.
-- Rates and scores are fractions in 0..1; pass_rate counts only records whose tool said pass or fail.
create or alter view quality.eval_slices as
with

eval_records as (
    select * from quality.eval_records
),

final as (
    select
        cast(evaluated_at as date) as evaluated_date,
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
        count_big(*) as n_records,
        count_big(distinct concat(dataset_id, char(31), case_id)) as n_cases,
        count_big(score) as n_scored,
        avg(score) as mean_score,
        count_big(is_passed) as n_pass_known,
        cast(sum(case when is_passed = 1 then 1 else 0 end) as bigint) as n_passed,
        cast(avg(case when is_passed = 1 then cast(1 as double precision) when is_passed = 0 then cast(0 as double precision) end) as double precision) as pass_rate,
        avg(latency_ms) as mean_latency_ms,
        sum(cost_usd) as total_cost_usd
    from eval_records
    group by
        cast(evaluated_at as date),
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
