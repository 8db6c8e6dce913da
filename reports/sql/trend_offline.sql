-- Report section "trend" (offline): eval scores per version of each comparison's key, per day and metric.
-- Grain: one row per comparison × version × evaluated_date × metric. Means are weighted by the
-- records behind each eval_slices row, so a day's value is the mean over its records.
with

comparisons as (
    select comparison_name, compare_key from quality.comparisons
),

eval_slices as (
    select * from quality.eval_slices
),

versioned as (
    select
        comparisons.comparison_name,
        case comparisons.compare_key
            when 'model_version' then eval_slices.model_version
            when 'prompt_version' then eval_slices.prompt_version
            when 'retriever_version' then eval_slices.retriever_version
            when 'guardrail_version' then eval_slices.guardrail_version
            when 'experiment_bucket' then eval_slices.experiment_bucket
        end as version,
        eval_slices.evaluated_date,
        eval_slices.metric,
        eval_slices.n_records,
        eval_slices.n_scored,
        eval_slices.mean_score,
        eval_slices.n_pass_known,
        eval_slices.n_passed
    from comparisons
    cross join eval_slices
),

final as (
    select
        comparison_name,
        version,
        evaluated_date,
        metric,
        sum(n_records) as n_records,
        sum(n_scored) as n_scored,
        sum(mean_score * n_scored) / nullif(sum(n_scored), 0) as mean_score,
        sum(n_pass_known) as n_pass_known,
        cast(sum(n_passed) as double precision) / nullif(sum(n_pass_known), 0) as pass_rate
    from versioned
    group by
        comparison_name,
        version,
        evaluated_date,
        metric
)

select * from final
order by
    comparison_name,
    metric,
    version,
    evaluated_date;
