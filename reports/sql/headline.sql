-- Report section "headline": what each comparison says, per side, in one line.
-- Grain: one row per comparison × side (offline, online) with how many slice rows of
-- quality.slice_deltas regressed, improved, held or had too little data. A comparison with
-- no rows on a side (no eval records or no traces for its versions) has no row for that side.
select
    comparisons.comparison_name,
    comparisons.compare_key,
    comparisons.baseline,
    comparisons.candidate,
    deltas.side,
    count(*) as n_rows,
    sum(case when deltas.verdict = 'regressed' then 1 else 0 end) as n_regressed,
    sum(case when deltas.verdict = 'improved' then 1 else 0 end) as n_improved,
    sum(case when deltas.verdict = 'unchanged' then 1 else 0 end) as n_unchanged,
    sum(case when deltas.verdict = 'insufficient_data' then 1 else 0 end) as n_insufficient_data
from quality.comparisons as comparisons
inner join quality.slice_deltas as deltas
    on deltas.comparison_name = comparisons.comparison_name
group by
    comparisons.comparison_name,
    comparisons.compare_key,
    comparisons.baseline,
    comparisons.candidate,
    deltas.side
order by
    comparisons.comparison_name,
    deltas.side;
