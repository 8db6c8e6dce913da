-- Report section "seed candidates": production traces worth turning into eval cases, highest
-- priority first (`warehouse seed` exports them as eval cases).
-- Grain: one row per trace (the view's grain).
select
    priority,
    reason,
    reasons,
    source,
    trace_id,
    started_at,
    model_version,
    prompt_version,
    feature,
    intent,
    language,
    customer_tier,
    output_format,
    context_band,
    has_complaint,
    feedback_score,
    is_error,
    error_type,
    trace_url,
    input_preview
from quality.seed_candidates
order by
    priority desc,
    started_at desc,
    source,
    trace_id;
