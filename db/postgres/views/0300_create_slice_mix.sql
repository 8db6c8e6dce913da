-- quality.slice_mix: is the eval set shaped like production? Per slice, the share of production
-- traces against the share of eval cases; a mix_ratio well above 1 means production leans on a
-- slice the eval set barely samples ("the offline set was mostly short consumer cases").
-- Grain: one row per slice (levels feature, feature_intent, feature_customer_tier,
-- feature_language, feature_context_band, customer_tier, context_band) with traces or eval cases,
-- over all traces and all eval records. An eval case is a distinct (dataset_id, case_id).
drop view if exists quality.slice_mix cascade;

create view quality.slice_mix as
with

-- Import CTEs not materialized: each is read more than once, and PostgreSQL would otherwise
-- write every column of the fact table to a temporary store before aggregating it.
trace_summaries as not materialized (
    select * from quality.trace_summaries
),

eval_records as not materialized (
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
        sum(case when has_complaint then 1 else 0 end) as n_complaints
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
        count(distinct dataset_id || chr(31) || case_id) as n_eval_cases
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

totals as materialized (
    -- Materialized: inlined, each reference to a total re-ran its scan as a separate subplan.
    select
        (select count(*) from trace_summaries) as all_traces,
        (select count(*) from (select distinct dataset_id, case_id from eval_records) as distinct_cases) as all_eval_cases
),

joined as (
    select
        coalesce(trace_slices.slice_level, case_slices.slice_level) as slice_level,
        coalesce(trace_slices.feature, case_slices.feature) as feature,
        coalesce(trace_slices.intent, case_slices.intent) as intent,
        coalesce(trace_slices.language, case_slices.language) as language,
        coalesce(trace_slices.customer_tier, case_slices.customer_tier) as customer_tier,
        coalesce(trace_slices.context_band, case_slices.context_band) as context_band,
        coalesce(trace_slices.n_traces, 0) as n_traces,
        coalesce(trace_slices.n_complaints, 0) as n_complaints,
        coalesce(case_slices.n_eval_cases, 0) as n_eval_cases
    from trace_slices
    full outer join case_slices
        on case_slices.slice_level = trace_slices.slice_level
        and case_slices.feature = trace_slices.feature
        and case_slices.intent = trace_slices.intent
        and case_slices.language = trace_slices.language
        and case_slices.customer_tier = trace_slices.customer_tier
        and case_slices.context_band = trace_slices.context_band
),

shares as (
    select
        joined.*,
        case when totals.all_traces > 0 then cast(joined.n_traces as double precision) / totals.all_traces end as production_share,
        case when totals.all_eval_cases > 0 then cast(joined.n_eval_cases as double precision) / totals.all_eval_cases end as eval_share
    from joined
    cross join totals
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
        cast(n_eval_cases as bigint) as n_eval_cases,
        production_share,
        eval_share,
        case when eval_share > 0 then production_share / eval_share end as mix_ratio
    from shares
)

select * from final;
