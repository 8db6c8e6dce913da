-- quality.coverage_gaps: where production hurts and the eval set cannot see it.
-- Grain: one row per slice (the levels of slice_mix) with production complaints but fewer than
-- 30 eval cases, the floor below which slice_deltas says insufficient_data; ranked by complaints.
create or alter view quality.coverage_gaps as
with

trace_summaries as (
    select * from quality.trace_summaries
),

eval_records as (
    select * from quality.eval_records
),

eval_cases as (
    select distinct
        dataset_id,
        case_id,
        feature,
        intent,
        language,
        customer_tier,
        context_band
    from eval_records
),

trace_slices as (
    select
        case
            when grouping(feature) = 1 and grouping(customer_tier) = 0 then 'customer_tier'
            when grouping(feature) = 1 then 'context_band'
            when grouping(intent) = 0 then 'feature_intent'
            when grouping(customer_tier) = 0 then 'feature_customer_tier'
            when grouping(language) = 0 then 'feature_language'
            when grouping(context_band) = 0 then 'feature_context_band'
            else 'feature'
        end as slice_level,
        coalesce(feature, '*') as feature,
        coalesce(intent, '*') as intent,
        coalesce(language, '*') as language,
        coalesce(customer_tier, '*') as customer_tier,
        coalesce(context_band, '*') as context_band,
        count(*) as n_traces,
        sum(case when has_complaint = 1 then 1 else 0 end) as n_complaints
    from trace_summaries
    group by grouping sets (
        (feature),
        (feature, intent),
        (feature, customer_tier),
        (feature, language),
        (feature, context_band),
        (customer_tier),
        (context_band)
    )
),

case_slices as (
    select
        case
            when grouping(feature) = 1 and grouping(customer_tier) = 0 then 'customer_tier'
            when grouping(feature) = 1 then 'context_band'
            when grouping(intent) = 0 then 'feature_intent'
            when grouping(customer_tier) = 0 then 'feature_customer_tier'
            when grouping(language) = 0 then 'feature_language'
            when grouping(context_band) = 0 then 'feature_context_band'
            else 'feature'
        end as slice_level,
        coalesce(feature, '*') as feature,
        coalesce(intent, '*') as intent,
        coalesce(language, '*') as language,
        coalesce(customer_tier, '*') as customer_tier,
        coalesce(context_band, '*') as context_band,
        count(distinct concat(dataset_id, char(31), case_id)) as n_eval_cases
    from eval_cases
    group by grouping sets (
        (feature),
        (feature, intent),
        (feature, customer_tier),
        (feature, language),
        (feature, context_band),
        (customer_tier),
        (context_band)
    )
),

gaps as (
    select
        trace_slices.slice_level,
        trace_slices.feature,
        trace_slices.intent,
        trace_slices.language,
        trace_slices.customer_tier,
        trace_slices.context_band,
        trace_slices.n_traces,
        trace_slices.n_complaints,
        coalesce(case_slices.n_eval_cases, 0) as n_eval_cases
    from trace_slices
    left join case_slices
        on case_slices.slice_level = trace_slices.slice_level
        and case_slices.feature = trace_slices.feature
        and case_slices.intent = trace_slices.intent
        and case_slices.language = trace_slices.language
        and case_slices.customer_tier = trace_slices.customer_tier
        and case_slices.context_band = trace_slices.context_band
    where trace_slices.n_complaints > 0
        and coalesce(case_slices.n_eval_cases, 0) < 30
),

final as (
    select
        slice_level,
        feature,
        intent,
        language,
        customer_tier,
        '*' as output_format,
        context_band,
        cast(n_traces as bigint) as n_traces,
        cast(n_complaints as bigint) as n_complaints,
        cast(n_complaints as double precision) / n_traces as complaint_rate,
        cast(n_eval_cases as bigint) as n_eval_cases,
        cast(dense_rank() over (order by n_complaints desc) as bigint) as complaint_rank
    from gaps
)

select * from final;
