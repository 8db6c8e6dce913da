-- Report section "lock board": every lock on each comparison's baseline and candidate.
-- Grain: one row per comparison × lock × arm (baseline, candidate). status is passed, failed or
-- missing (a lock that was not run on that version is not a lock that passed).
select
    comparisons.comparison_name,
    locks.lock_name,
    locks.title,
    locks.incident_url,
    locks.dataset_id,
    locks.case_id,
    locks.metric,
    locks.min_score,
    locks.source_trace_id,
    case when locks.version = comparisons.candidate then 'candidate' else 'baseline' end as arm,
    locks.version_key,
    locks.version,
    locks.status,
    locks.metrics_checked,
    locks.metrics_failed,
    locks.lowest_score,
    locks.last_evaluated_at,
    locks.last_eval_run_id
from quality.comparisons as comparisons
inner join quality.lock_status as locks
    on locks.version_key = comparisons.compare_key
    and (locks.version = comparisons.baseline or locks.version = comparisons.candidate)
order by
    comparisons.comparison_name,
    case locks.status when 'failed' then 0 when 'missing' then 1 else 2 end,
    locks.lock_name,
    case when locks.version = comparisons.candidate then 0 else 1 end;
