-- Report section "slice mix": per slice, the share of production traces against the share of
-- eval cases; a mix_ratio far above 1 is traffic the eval set hardly sees.
-- Grain: one row per slice (the view's grain); the report charts the customer_tier,
-- context_band and feature levels.
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
    n_eval_cases,
    production_share,
    eval_share,
    mix_ratio
from quality.slice_mix
order by
    slice_level,
    case when mix_ratio is null then 1 else 0 end,
    mix_ratio desc,
    feature,
    intent,
    language,
    customer_tier,
    output_format,
    context_band;
