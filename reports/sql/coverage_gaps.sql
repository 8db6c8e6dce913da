-- Report section "coverage gaps": slices with production traffic and complaints but fewer than
-- 30 eval cases, the ones with most complaints first.
-- Grain: one row per slice (the view's grain).
select
    complaint_rank,
    slice_level,
    feature,
    intent,
    language,
    customer_tier,
    output_format,
    context_band,
    n_traces,
    n_complaints,
    complaint_rate,
    n_eval_cases
from quality.coverage_gaps
order by
    complaint_rank,
    n_traces desc,
    slice_level,
    feature,
    intent,
    language,
    customer_tier,
    output_format,
    context_band;
