-- quality.divergences: where offline and online evidence contradict each other.
-- Grain: one row per comparison × slice whose sides disagree: offline improved or held while
-- online regressed (offline_win_online_loss), or offline regressed while online improved or
-- held (offline_loss_online_win). Each side is summarised by its most telling row: regressed
-- beats improved beats unchanged, and within that verdict the smallest adjusted p-value.
create or alter view quality.divergences as
with

slice_deltas as (
    select * from quality.slice_deltas
),

ranked_rows as (
    select
        slice_deltas.*,
        row_number() over (
            partition by comparison_name, side, slice_level, feature, intent, language, customer_tier, context_band
            order by
                case verdict when 'regressed' then 1 when 'improved' then 2 when 'unchanged' then 3 else 4 end,
                -- T-SQL sorts NULL first; DuckDB and PostgreSQL sort it last in ascending order.
                case when p_adjusted is null then 1 else 0 end,
                p_adjusted,
                metric
        ) as side_rank
    from slice_deltas
),

side_summaries as (
    select * from ranked_rows where side_rank = 1
),

final as (
    select
        offline.comparison_name,
        offline.compare_key,
        offline.baseline,
        offline.candidate,
        offline.slice_level,
        offline.feature,
        offline.intent,
        offline.language,
        offline.customer_tier,
        offline.output_format,
        offline.context_band,
        case
            when online.verdict = 'regressed' then 'offline_win_online_loss'
            else 'offline_loss_online_win'
        end as divergence_type,
        offline.metric as offline_metric,
        offline.value_baseline as offline_value_baseline,
        offline.value_candidate as offline_value_candidate,
        offline.delta as offline_delta,
        offline.ci_low as offline_ci_low,
        offline.ci_high as offline_ci_high,
        offline.p_adjusted as offline_p_adjusted,
        offline.verdict as offline_verdict,
        online.metric as online_metric,
        online.value_baseline as online_value_baseline,
        online.value_candidate as online_value_candidate,
        online.delta as online_delta,
        online.ci_low as online_ci_low,
        online.ci_high as online_ci_high,
        online.p_adjusted as online_p_adjusted,
        online.verdict as online_verdict
    from side_summaries as offline
    inner join side_summaries as online
        on online.comparison_name = offline.comparison_name
        and online.slice_level = offline.slice_level
        and online.feature = offline.feature
        and online.intent = offline.intent
        and online.language = offline.language
        and online.customer_tier = offline.customer_tier
        and online.context_band = offline.context_band
    where offline.side = 'offline'
        and online.side = 'online'
        and (
            (offline.verdict in ('improved', 'unchanged') and online.verdict = 'regressed')
            or (offline.verdict = 'regressed' and online.verdict in ('improved', 'unchanged'))
        )
)

select * from final;
