-- quality.lock_status: does every fixed bug stay fixed, per version?
-- Grain: one row per lock × evaluated version, a version being (version_key, version): every
-- value of each version key that eval records of the lock's dataset carry, plus every
-- comparison's baseline and candidate. Per metric (the lock's, or every metric of the case)
-- the latest run counts (latest evaluated_at, then eval_run_id); a metric passes when every
-- epoch of that run passes: score >= min_score when the lock sets one, else is_passed true.
-- status: missing when the version has no result for the case (a lock that was not run is not
-- a lock that passed), failed when any metric failed, else passed.
create or alter view quality.lock_status as
with

locks as (
    select * from quality.locks
),

eval_records as (
    select * from quality.eval_records
),

comparisons as (
    select * from quality.comparisons
),

keyed_records as (
    select 'model_version' as version_key, model_version as version, eval_records.* from eval_records
    union all
    select 'prompt_version' as version_key, prompt_version as version, eval_records.* from eval_records
    union all
    select 'retriever_version' as version_key, retriever_version as version, eval_records.* from eval_records
    union all
    select 'guardrail_version' as version_key, guardrail_version as version, eval_records.* from eval_records
    union all
    select 'experiment_bucket' as version_key, experiment_bucket as version, eval_records.* from eval_records
),

lock_versions as (
    select distinct
        locks.lock_name,
        keyed_records.version_key,
        keyed_records.version
    from locks
    inner join keyed_records
        on keyed_records.dataset_id = locks.dataset_id
    union
    select locks.lock_name, comparisons.compare_key as version_key, comparisons.baseline as version
    from locks
    cross join comparisons
    union
    select locks.lock_name, comparisons.compare_key as version_key, comparisons.candidate as version
    from locks
    cross join comparisons
),

lock_results as (
    select
        locks.lock_name,
        keyed_records.version_key,
        keyed_records.version,
        keyed_records.metric,
        keyed_records.eval_run_id,
        max(keyed_records.evaluated_at) as evaluated_at,
        min(keyed_records.score) as lowest_score,
        min(case
            when locks.min_score is not null and keyed_records.score >= locks.min_score then 1
            when locks.min_score is null and keyed_records.is_passed = 1 then 1
            else 0
        end) as is_run_passed
    from locks
    inner join keyed_records
        on keyed_records.dataset_id = locks.dataset_id
        and keyed_records.case_id = locks.case_id
        and (locks.metric is null or keyed_records.metric = locks.metric)
    group by
        locks.lock_name,
        keyed_records.version_key,
        keyed_records.version,
        keyed_records.metric,
        keyed_records.eval_run_id
),

latest_results as (
    select
        lock_results.*,
        row_number() over (
            partition by lock_name, version_key, version, metric
            order by case when evaluated_at is null then 1 else 0 end, evaluated_at desc, eval_run_id desc
        ) as recency
    from lock_results
),

version_results as (
    select
        lock_name,
        version_key,
        version,
        count(*) as metrics_checked,
        sum(1 - is_run_passed) as metrics_failed,
        min(lowest_score) as lowest_score,
        max(evaluated_at) as last_evaluated_at,
        max(eval_run_id) as last_eval_run_id
    from latest_results
    where recency = 1
    group by lock_name, version_key, version
),

final as (
    select
        locks.lock_name,
        locks.title,
        locks.incident_url,
        locks.dataset_id,
        locks.case_id,
        locks.metric,
        locks.min_score,
        locks.source_trace_id,
        lock_versions.version_key,
        lock_versions.version,
        case
            when version_results.lock_name is null then 'missing'
            when version_results.metrics_failed > 0 then 'failed'
            else 'passed'
        end as status,
        cast(coalesce(version_results.metrics_checked, 0) as bigint) as metrics_checked,
        cast(coalesce(version_results.metrics_failed, 0) as bigint) as metrics_failed,
        version_results.lowest_score,
        version_results.last_evaluated_at,
        version_results.last_eval_run_id
    from locks
    inner join lock_versions
        on lock_versions.lock_name = locks.lock_name
    left join version_results
        on version_results.lock_name = lock_versions.lock_name
        and version_results.version_key = lock_versions.version_key
        and version_results.version = lock_versions.version
)

select * from final;
