-- quality.coverage_gaps: where production hurts and the eval set cannot see it.
-- Grain: one row per slice (the levels of slice_mix) with production complaints but fewer than
-- 30 eval cases, the floor below which slice_deltas says insufficient_data; ranked by complaints.
drop view if exists quality.coverage_gaps cascade;

create view quality.coverage_gaps as
with

slice_mix as (
    select * from quality.slice_mix
),

gaps as (
    select
        slice_level,
        feature,
        intent,
        language,
        customer_tier,
        output_format,
        context_band,
        n_traces,
        n_complaints,
        n_eval_cases
    from slice_mix
    where n_complaints > 0
        and n_eval_cases < 30
),

final as (
    select
        slice_level,
        feature,
        intent,
        language,
        customer_tier,
        output_format,
        context_band,
        n_traces,
        n_complaints,
        cast(n_complaints as double precision) / n_traces as complaint_rate,
        n_eval_cases,
        cast(dense_rank() over (order by n_complaints desc) as bigint) as complaint_rank
    from gaps
)

select * from final;
