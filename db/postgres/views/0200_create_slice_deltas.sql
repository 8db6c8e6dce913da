-- quality.slice_deltas: did the candidate get better or worse than the baseline, per slice?
-- Grain: one row per comparison × side (offline/online) × metric × slice.
--
-- Arms: offline, the eval records whose compare_key column holds the baseline or the
-- candidate value; online, the traces that do and whose started_at falls in the arm's optional
-- window [from, to). Slice levels: overall, feature, feature_intent, feature_customer_tier,
-- feature_language, feature_context_band; rolled-up label columns hold '*'.
-- Metrics: offline `mean_score:<metric>` and `pass_rate:<metric>` (higher is better); online
-- complaint, error, tool/json parse failure and empty retrieval rates, mean latency (ms) and
-- mean cost (USD) (lower is better). Values are fractions in 0..1 for rates and scores.
--
-- Statistics (large-sample normal theory, chosen so that every engine computes the same numbers):
-- * paired_z: offline rows where at least 30 cases (dataset_id, case_id) ran on both versions
--   in the slice. Per case and arm the metric is averaged over runs and epochs; the test is on
--   the per-case differences d: delta = mean(d), se = sd(d) / sqrt(n_pairs); the values and n
--   are those of the paired cases. cases_regressed / cases_improved count pairs with d < 0 / d > 0.
-- * two_proportion_z: other rate rows; the interval uses the unpooled standard error, the
--   test the pooled one (the usual two-proportion z-test).
-- * welch_z: other mean rows; se = sqrt(var_b / n_b + var_c / n_c) with sample variances.
-- * ci_low, ci_high: delta ± 1.959964 se (95 %). p_value: two-sided, 2 (1 − Φ(|z|)) = erfc(|z| / √2),
--   with erfc from Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7), since no engine
--   ships a normal distribution function in SQL.
-- * p_adjusted: Holm's step-down adjustment across all tested rows of one comparison and side
--   (rows with at least 30 observations per arm), which keeps the chance of any false verdict
--   in a comparison side at or under 5 %.
-- * verdict: insufficient_data when an arm has fewer than 30 observations (the usual floor for
--   the normal approximation); improved / regressed when p_adjusted < 0.05, by the direction
--   of delta against higher_is_better; unchanged otherwise.
drop view if exists quality.slice_deltas cascade;
drop function if exists quality.slice_deltas_rows();

-- PostgreSQL only: the query lives in a function so that it can carry its own settings, which a
-- view cannot. With about 350 expressions and a plan cost in the millions, the default JIT
-- (optimise and inline above cost 500,000) spent about 9 s compiling against about 5 s of
-- execution at 1 million traces; and the default work_mem of 4 MB sent every sort of the
-- offline side to disk. enable_sort = off: the arms are joined on a CASE over the version
-- columns, whose selectivity the planner cannot know, so it expects a few thousand
-- observations where a million arrive and groups them by sorting on up to nine text keys
-- (collation-aware comparisons: 5 s for the 900,000 online observations) instead of hashing
-- them into their 2,000 cells (under 0.5 s); sorts that nothing else can do (the Holm windows)
-- still run. max_parallel_workers_per_gather = 0: on the same misestimate the planner split the
-- case grouping across workers into partial groups that reduce nothing (200,000 rows in, as
-- many partial groups out, then combined again); serial took less CPU and no more wall time.
-- The settings apply only while the function runs. The view below is the interface.
--
-- The CTEs are DuckDB's slice_deltas', by name and in the same order, with the same queries,
-- except: no online_slice_means here (online_cell_moments takes each slice's mean from a window
-- instead); offline_observations and online_cell_moments differ where marked PostgreSQL; and the
-- `[not] materialized` hints, which a DuckDB view cannot keep. SQL Server's slice_deltas computes
-- the same values (up to rounding in the variances) without cells: its offline_cases groups
-- offline_observations by case and slice level directly, and its online_arm_aggregates groups
-- the traces by slice with var() over them; so it has none of comparison_arms, slice_levels,
-- offline_case_cells, offline_multi_cell_cases, online_cells, online_cell_slices and
-- online_cell_moments, and it unions one scan of each fact table per arm.
create function quality.slice_deltas_rows()
returns table (
    comparison_name varchar,
    compare_key varchar,
    baseline varchar,
    candidate varchar,
    side text,
    metric text,
    higher_is_better boolean,
    slice_level text,
    feature varchar,
    intent varchar,
    language varchar,
    customer_tier varchar,
    output_format text,
    context_band varchar,
    n_baseline bigint,
    n_candidate bigint,
    n_pairs bigint,
    value_baseline double precision,
    value_candidate double precision,
    delta double precision,
    ci_low double precision,
    ci_high double precision,
    statistical_test text,
    z_score double precision,
    p_value double precision,
    p_adjusted double precision,
    cases_regressed bigint,
    cases_improved bigint,
    verdict text
)
language sql
stable
set jit = off
set work_mem = '64MB'
set enable_sort = off
set max_parallel_workers_per_gather = 0
as $function$
with

comparisons as not materialized (
    select * from quality.comparisons
),

eval_records as not materialized (
    select * from quality.eval_records
),

trace_summaries as not materialized (
    select * from quality.trace_summaries
),

comparison_arms as (
    -- Both arms of each comparison as rows, so that online_observations reads the million traces
    -- once. (offline_observations keeps one join per arm over the 200,000 eval rows.)
    select
        comparison_name,
        compare_key,
        'baseline' as arm,
        baseline as arm_value,
        baseline_from as arm_from,
        baseline_to as arm_to
    from comparisons
    union all
    select
        comparison_name,
        compare_key,
        'candidate' as arm,
        candidate as arm_value,
        candidate_from as arm_from,
        candidate_to as arm_to
    from comparisons
),

slice_levels as (
    -- The grouping sets as rows, with the labels each keeps, for cells repeated at every slice
    -- level (offline_cases, online_cell_slices).
    select *
    from (
        values
            ('overall', false, false, false, false, false),
            ('feature', true, false, false, false, false),
            ('feature_intent', true, true, false, false, false),
            ('feature_customer_tier', true, false, false, true, false),
            ('feature_language', true, false, true, false, false),
            ('feature_context_band', true, false, false, false, true)
    ) as levels (slice_level, keeps_feature, keeps_intent, keeps_language, keeps_customer_tier, keeps_context_band)
),

offline_observations as not materialized (
    -- PostgreSQL: one join per arm, as on SQL Server (DuckDB joins comparison_arms instead, since
    -- it materializes every CTE named twice, here eval_records).
    select
        comparisons.comparison_name,
        'baseline' as arm,
        eval_records.metric,
        eval_records.dataset_id,
        eval_records.case_id,
        eval_records.feature,
        eval_records.intent,
        eval_records.language,
        eval_records.customer_tier,
        eval_records.context_band,
        eval_records.score,
        case when eval_records.is_passed then cast(1 as double precision) when not eval_records.is_passed then cast(0 as double precision) end as passed
    from eval_records
    inner join comparisons
        on comparisons.baseline = case comparisons.compare_key
            when 'model_version' then eval_records.model_version
            when 'prompt_version' then eval_records.prompt_version
            when 'retriever_version' then eval_records.retriever_version
            when 'guardrail_version' then eval_records.guardrail_version
            when 'experiment_bucket' then eval_records.experiment_bucket
        end
    union all
    select
        comparisons.comparison_name,
        'candidate' as arm,
        eval_records.metric,
        eval_records.dataset_id,
        eval_records.case_id,
        eval_records.feature,
        eval_records.intent,
        eval_records.language,
        eval_records.customer_tier,
        eval_records.context_band,
        eval_records.score,
        case when eval_records.is_passed then cast(1 as double precision) when not eval_records.is_passed then cast(0 as double precision) end as passed
    from eval_records
    inner join comparisons
        on comparisons.candidate = case comparisons.compare_key
            when 'model_version' then eval_records.model_version
            when 'prompt_version' then eval_records.prompt_version
            when 'retriever_version' then eval_records.retriever_version
            when 'guardrail_version' then eval_records.guardrail_version
            when 'experiment_bucket' then eval_records.experiment_bucket
        end
),

offline_arm_aggregates as (
    select
        comparison_name,
        metric,
        case
            when grouping(feature) = 1 then 'overall'
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
        count(case when arm = 'baseline' then score end) as score_n_baseline,
        count(case when arm = 'candidate' then score end) as score_n_candidate,
        avg(case when arm = 'baseline' then score end) as score_mean_baseline,
        avg(case when arm = 'candidate' then score end) as score_mean_candidate,
        var_samp(case when arm = 'baseline' then score end) as score_variance_baseline,
        var_samp(case when arm = 'candidate' then score end) as score_variance_candidate,
        count(case when arm = 'baseline' then passed end) as pass_n_baseline,
        count(case when arm = 'candidate' then passed end) as pass_n_candidate,
        avg(case when arm = 'baseline' then passed end) as pass_mean_baseline,
        avg(case when arm = 'candidate' then passed end) as pass_mean_candidate
    from offline_observations
    group by
        comparison_name,
        metric,
        grouping sets (
            (),
            (feature),
            (feature, intent),
            (feature, customer_tier),
            (feature, language),
            (feature, context_band)
        )
),

offline_case_cells as (
    -- The case means per arm in each finest slice the case has rows in (SQL Server groups
    -- offline_observations by case and slice level directly, as the second half of offline_cases
    -- does). Grouping 200,000 eval rows by case × slice level made 600,000 groups that spilled; a
    -- case whose rows all carry the same labels (one cell, the usual case) has the same rows, so
    -- the same means, at every slice level, and needs no regrouping.
    select
        comparison_name,
        metric,
        dataset_id,
        case_id,
        feature,
        intent,
        language,
        customer_tier,
        context_band,
        avg(case when arm = 'baseline' then score end) as score_baseline,
        avg(case when arm = 'candidate' then score end) as score_candidate,
        avg(case when arm = 'baseline' then passed end) as pass_baseline,
        avg(case when arm = 'candidate' then passed end) as pass_candidate
    from offline_observations
    group by
        comparison_name,
        metric,
        dataset_id,
        case_id,
        feature,
        intent,
        language,
        customer_tier,
        context_band
),

offline_multi_cell_cases as (
    -- Cases whose labels differ between rows (for example between versions).
    select
        comparison_name,
        metric,
        dataset_id,
        case_id
    from offline_case_cells
    group by
        comparison_name,
        metric,
        dataset_id,
        case_id
    having count(*) > 1
),

offline_cases as (
    -- A case is paired in every slice that holds both of its arms: grouping the case means by
    -- slice level keeps a case whose labels changed between versions paired where they agree.
    -- One-cell cases repeat their cell's means at each slice level; only the cases with more
    -- than one cell are grouped by slice level, as SQL Server groups every case.
    select
        offline_case_cells.comparison_name,
        offline_case_cells.metric,
        offline_case_cells.dataset_id,
        offline_case_cells.case_id,
        slice_levels.slice_level,
        case when slice_levels.keeps_feature then coalesce(offline_case_cells.feature, '*') else '*' end as feature,
        case when slice_levels.keeps_intent then coalesce(offline_case_cells.intent, '*') else '*' end as intent,
        case when slice_levels.keeps_language then coalesce(offline_case_cells.language, '*') else '*' end as language,
        case when slice_levels.keeps_customer_tier then coalesce(offline_case_cells.customer_tier, '*') else '*' end as customer_tier,
        case when slice_levels.keeps_context_band then coalesce(offline_case_cells.context_band, '*') else '*' end as context_band,
        offline_case_cells.score_baseline,
        offline_case_cells.score_candidate,
        offline_case_cells.pass_baseline,
        offline_case_cells.pass_candidate
    from offline_case_cells
    cross join slice_levels
    where not exists (
        select 1
        from offline_multi_cell_cases
        where offline_multi_cell_cases.comparison_name = offline_case_cells.comparison_name
            and offline_multi_cell_cases.metric = offline_case_cells.metric
            and offline_multi_cell_cases.dataset_id = offline_case_cells.dataset_id
            and offline_multi_cell_cases.case_id = offline_case_cells.case_id
    )
    union all
    select
        comparison_name,
        metric,
        dataset_id,
        case_id,
        case
            when grouping(feature) = 1 then 'overall'
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
        avg(case when arm = 'baseline' then score end) as score_baseline,
        avg(case when arm = 'candidate' then score end) as score_candidate,
        avg(case when arm = 'baseline' then passed end) as pass_baseline,
        avg(case when arm = 'candidate' then passed end) as pass_candidate
    from offline_observations
    where exists (
        select 1
        from offline_multi_cell_cases
        where offline_multi_cell_cases.comparison_name = offline_observations.comparison_name
            and offline_multi_cell_cases.metric = offline_observations.metric
            and offline_multi_cell_cases.dataset_id = offline_observations.dataset_id
            and offline_multi_cell_cases.case_id = offline_observations.case_id
    )
    group by
        comparison_name,
        metric,
        dataset_id,
        case_id,
        grouping sets (
            (),
            (feature),
            (feature, intent),
            (feature, customer_tier),
            (feature, language),
            (feature, context_band)
        )
),

offline_case_differences as (
    select
        offline_cases.*,
        score_candidate - score_baseline as score_difference,
        pass_candidate - pass_baseline as pass_difference
    from offline_cases
),

offline_pair_aggregates as (
    select
        comparison_name,
        metric,
        slice_level,
        feature,
        intent,
        language,
        customer_tier,
        context_band,
        count(score_difference) as score_pairs,
        avg(case when score_difference is not null then score_baseline end) as score_pair_mean_baseline,
        avg(case when score_difference is not null then score_candidate end) as score_pair_mean_candidate,
        avg(score_difference) as score_pair_mean_difference,
        var_samp(score_difference) as score_pair_variance,
        sum(case when score_difference < 0 then 1 else 0 end) as score_cases_regressed,
        sum(case when score_difference > 0 then 1 else 0 end) as score_cases_improved,
        count(pass_difference) as pass_pairs,
        avg(case when pass_difference is not null then pass_baseline end) as pass_pair_mean_baseline,
        avg(case when pass_difference is not null then pass_candidate end) as pass_pair_mean_candidate,
        avg(pass_difference) as pass_pair_mean_difference,
        var_samp(pass_difference) as pass_pair_variance,
        sum(case when pass_difference < 0 then 1 else 0 end) as pass_cases_regressed,
        sum(case when pass_difference > 0 then 1 else 0 end) as pass_cases_improved
    from offline_case_differences
    group by
        comparison_name,
        metric,
        slice_level,
        feature,
        intent,
        language,
        customer_tier,
        context_band
),

offline_metric_rows as (
    select
        arms.comparison_name,
        'offline' as side,
        'mean_score:' || arms.metric as metric,
        false as is_rate,
        arms.slice_level,
        arms.feature,
        arms.intent,
        arms.language,
        arms.customer_tier,
        arms.context_band,
        arms.score_n_baseline as n_baseline,
        arms.score_n_candidate as n_candidate,
        arms.score_mean_baseline as mean_baseline,
        arms.score_mean_candidate as mean_candidate,
        arms.score_variance_baseline as variance_baseline,
        arms.score_variance_candidate as variance_candidate,
        pairs.score_pairs as n_pairs,
        pairs.score_pair_mean_baseline as pair_mean_baseline,
        pairs.score_pair_mean_candidate as pair_mean_candidate,
        pairs.score_pair_mean_difference as pair_mean_difference,
        pairs.score_pair_variance as pair_variance,
        pairs.score_cases_regressed as cases_regressed,
        pairs.score_cases_improved as cases_improved
    from offline_arm_aggregates as arms
    inner join offline_pair_aggregates as pairs
        on pairs.comparison_name = arms.comparison_name
        and pairs.metric = arms.metric
        and pairs.slice_level = arms.slice_level
        and pairs.feature = arms.feature
        and pairs.intent = arms.intent
        and pairs.language = arms.language
        and pairs.customer_tier = arms.customer_tier
        and pairs.context_band = arms.context_band
    where arms.score_n_baseline + arms.score_n_candidate > 0
    union all
    select
        arms.comparison_name,
        'offline' as side,
        'pass_rate:' || arms.metric as metric,
        true as is_rate,
        arms.slice_level,
        arms.feature,
        arms.intent,
        arms.language,
        arms.customer_tier,
        arms.context_band,
        arms.pass_n_baseline as n_baseline,
        arms.pass_n_candidate as n_candidate,
        arms.pass_mean_baseline as mean_baseline,
        arms.pass_mean_candidate as mean_candidate,
        cast(null as double precision) as variance_baseline,
        cast(null as double precision) as variance_candidate,
        pairs.pass_pairs as n_pairs,
        pairs.pass_pair_mean_baseline as pair_mean_baseline,
        pairs.pass_pair_mean_candidate as pair_mean_candidate,
        pairs.pass_pair_mean_difference as pair_mean_difference,
        pairs.pass_pair_variance as pair_variance,
        pairs.pass_cases_regressed as cases_regressed,
        pairs.pass_cases_improved as cases_improved
    from offline_arm_aggregates as arms
    inner join offline_pair_aggregates as pairs
        on pairs.comparison_name = arms.comparison_name
        and pairs.metric = arms.metric
        and pairs.slice_level = arms.slice_level
        and pairs.feature = arms.feature
        and pairs.intent = arms.intent
        and pairs.language = arms.language
        and pairs.customer_tier = arms.customer_tier
        and pairs.context_band = arms.context_band
    where arms.pass_n_baseline + arms.pass_n_candidate > 0
),

online_observations as (
    -- Only the columns the aggregates read: the fact table's wide text columns (input_preview,
    -- attributes) would otherwise be carried through every sort and spill.
    select
        comparison_arms.comparison_name,
        comparison_arms.arm,
        trace_summaries.feature,
        trace_summaries.intent,
        trace_summaries.language,
        trace_summaries.customer_tier,
        trace_summaries.context_band,
        trace_summaries.has_complaint,
        trace_summaries.is_error,
        trace_summaries.has_tool_parse_failure,
        trace_summaries.has_json_parse_failure,
        trace_summaries.is_retrieval_empty,
        trace_summaries.latency_ms,
        trace_summaries.cost_usd
    from trace_summaries
    inner join comparison_arms
        on comparison_arms.arm_value = case comparison_arms.compare_key
            when 'model_version' then trace_summaries.model_version
            when 'prompt_version' then trace_summaries.prompt_version
            when 'retriever_version' then trace_summaries.retriever_version
            when 'guardrail_version' then trace_summaries.guardrail_version
            when 'experiment_bucket' then trace_summaries.experiment_bucket
        end
    where (comparison_arms.arm_from is null or trace_summaries.started_at >= comparison_arms.arm_from)
        and (comparison_arms.arm_to is null or trace_summaries.started_at < comparison_arms.arm_to)
),

online_cells as materialized (
    -- One hash pass reduces a million traces to one row per arm × finest slice, which the CTEs
    -- below roll up to every slice, instead of sorting every trace once per grouping set (SQL
    -- Server aggregates online_observations per slice directly). Counts and sums roll up exactly;
    -- per cell, var_samp gives the sum of squared deviations from the cell mean
    -- (sum_squares = var_samp × (n − 1)), which combines across cells without the cancellation of
    -- a raw sum of squares.
    -- PostgreSQL: materialized, so that it is planned on its own and the million traces are
    -- hashed once, whichever way the planner then joins the 2,000 cells with slice_levels
    -- (inlined, the grouping became the inner side of that nested loop, kept only by a Materialize
    -- node; an earlier plan, fed the order a window wanted, sorted the million traces instead).
    select
        comparison_name,
        arm,
        feature,
        intent,
        language,
        customer_tier,
        context_band,
        count(*) as traces,
        sum(case when has_complaint then 1 else 0 end) as complaints,
        sum(case when is_error then 1 else 0 end) as errors,
        sum(case when has_tool_parse_failure then 1 else 0 end) as tool_parse_failures,
        sum(case when has_json_parse_failure then 1 else 0 end) as json_parse_failures,
        sum(case when is_retrieval_empty then 1 else 0 end) as retrievals_empty,
        count(latency_ms) as latency_n,
        sum(latency_ms) as latency_sum,
        coalesce(var_samp(latency_ms) * (count(latency_ms) - 1), 0) as latency_squares,
        count(cost_usd) as cost_n,
        sum(cost_usd) as cost_sum,
        coalesce(var_samp(cost_usd) * (count(cost_usd) - 1), 0) as cost_squares
    from online_observations
    group by
        comparison_name,
        arm,
        feature,
        intent,
        language,
        customer_tier,
        context_band
),

online_cell_slices as (
    -- Each cell once per slice level, labelled with the slice it belongs to at that level.
    select
        online_cells.comparison_name,
        online_cells.arm,
        slice_levels.slice_level,
        case when slice_levels.keeps_feature then coalesce(online_cells.feature, '*') else '*' end as feature,
        case when slice_levels.keeps_intent then coalesce(online_cells.intent, '*') else '*' end as intent,
        case when slice_levels.keeps_language then coalesce(online_cells.language, '*') else '*' end as language,
        case when slice_levels.keeps_customer_tier then coalesce(online_cells.customer_tier, '*') else '*' end as customer_tier,
        case when slice_levels.keeps_context_band then coalesce(online_cells.context_band, '*') else '*' end as context_band,
        online_cells.traces,
        online_cells.complaints,
        online_cells.errors,
        online_cells.tool_parse_failures,
        online_cells.json_parse_failures,
        online_cells.retrievals_empty,
        online_cells.latency_n,
        online_cells.latency_sum,
        online_cells.latency_squares,
        online_cells.cost_n,
        online_cells.cost_sum,
        online_cells.cost_squares
    from online_cells
    cross join slice_levels
),

online_cell_moments as (
    -- Combining cells: sum of squares = Σ within-cell squares + Σ n_i (mean_i − mean)², and
    -- Σ n_i (mean_i − mean)² = Σ d_i² / n_i − (Σ d_i)² / Σ n_i for d_i = sum_i − n_i K with any
    -- constant K. K is the mean of the slice being pooled (the second term then only corrects
    -- rounding), so that nothing cancels: with one K per arm, a slice whose values are all
    -- equal but far from the arm's mean kept a variance of rounding noise (about 1e-18 for
    -- costs of 0.1 USD) where var_samp over the rows gives 0, enough to turn its standard
    -- error from 0 into a tested 1e-11. Rounding can still leave a tiny negative sum: clamped to 0.
    -- PostgreSQL: the slice's mean comes from a window over the slice's cells, where DuckDB joins
    -- online_slice_means back; the planner estimated that 8-key join at 1 row, and on the
    -- estimate joined p_values to holm_adjusted by a nested loop (0.2 s at 1,000 rows).
    select
        online_cell_slices.*,
        latency_sum - latency_n * (sum(latency_sum) over slice_window / nullif(sum(latency_n) over slice_window, 0)) as latency_shifted_sum,
        cost_sum - cost_n * (sum(cost_sum) over slice_window / nullif(sum(cost_n) over slice_window, 0)) as cost_shifted_sum
    from online_cell_slices
    window slice_window as (partition by comparison_name, arm, slice_level, feature, intent, language, customer_tier, context_band)
),

online_arm_aggregates as (
    select
        comparison_name,
        slice_level,
        feature,
        intent,
        language,
        customer_tier,
        context_band,
        cast(coalesce(sum(case when arm = 'baseline' then traces end), 0) as bigint) as traces_baseline,
        cast(coalesce(sum(case when arm = 'candidate' then traces end), 0) as bigint) as traces_candidate,
        cast(sum(case when arm = 'baseline' then complaints end) as double precision) / sum(case when arm = 'baseline' then traces end) as complaint_rate_baseline,
        cast(sum(case when arm = 'candidate' then complaints end) as double precision) / sum(case when arm = 'candidate' then traces end) as complaint_rate_candidate,
        cast(sum(case when arm = 'baseline' then errors end) as double precision) / sum(case when arm = 'baseline' then traces end) as error_rate_baseline,
        cast(sum(case when arm = 'candidate' then errors end) as double precision) / sum(case when arm = 'candidate' then traces end) as error_rate_candidate,
        cast(sum(case when arm = 'baseline' then tool_parse_failures end) as double precision) / sum(case when arm = 'baseline' then traces end) as tool_parse_failure_rate_baseline,
        cast(sum(case when arm = 'candidate' then tool_parse_failures end) as double precision) / sum(case when arm = 'candidate' then traces end) as tool_parse_failure_rate_candidate,
        cast(sum(case when arm = 'baseline' then json_parse_failures end) as double precision) / sum(case when arm = 'baseline' then traces end) as json_parse_failure_rate_baseline,
        cast(sum(case when arm = 'candidate' then json_parse_failures end) as double precision) / sum(case when arm = 'candidate' then traces end) as json_parse_failure_rate_candidate,
        cast(sum(case when arm = 'baseline' then retrievals_empty end) as double precision) / sum(case when arm = 'baseline' then traces end) as retrieval_empty_rate_baseline,
        cast(sum(case when arm = 'candidate' then retrievals_empty end) as double precision) / sum(case when arm = 'candidate' then traces end) as retrieval_empty_rate_candidate,
        cast(coalesce(sum(case when arm = 'baseline' then latency_n end), 0) as bigint) as latency_n_baseline,
        cast(coalesce(sum(case when arm = 'candidate' then latency_n end), 0) as bigint) as latency_n_candidate,
        sum(case when arm = 'baseline' then latency_sum end) / nullif(sum(case when arm = 'baseline' then latency_n end), 0) as latency_mean_baseline,
        sum(case when arm = 'candidate' then latency_sum end) / nullif(sum(case when arm = 'candidate' then latency_n end), 0) as latency_mean_candidate,
        case when sum(case when arm = 'baseline' then latency_n end) > 1 then greatest(cast(0 as double precision), (
            sum(case when arm = 'baseline' then latency_squares end)
            + sum(case when arm = 'baseline' and latency_n > 0 then latency_shifted_sum * latency_shifted_sum / latency_n end)
            - sum(case when arm = 'baseline' then latency_shifted_sum end) * sum(case when arm = 'baseline' then latency_shifted_sum end)
                / sum(case when arm = 'baseline' then latency_n end)
        ) / (sum(case when arm = 'baseline' then latency_n end) - 1)) end as latency_variance_baseline,
        case when sum(case when arm = 'candidate' then latency_n end) > 1 then greatest(cast(0 as double precision), (
            sum(case when arm = 'candidate' then latency_squares end)
            + sum(case when arm = 'candidate' and latency_n > 0 then latency_shifted_sum * latency_shifted_sum / latency_n end)
            - sum(case when arm = 'candidate' then latency_shifted_sum end) * sum(case when arm = 'candidate' then latency_shifted_sum end)
                / sum(case when arm = 'candidate' then latency_n end)
        ) / (sum(case when arm = 'candidate' then latency_n end) - 1)) end as latency_variance_candidate,
        cast(coalesce(sum(case when arm = 'baseline' then cost_n end), 0) as bigint) as cost_n_baseline,
        cast(coalesce(sum(case when arm = 'candidate' then cost_n end), 0) as bigint) as cost_n_candidate,
        sum(case when arm = 'baseline' then cost_sum end) / nullif(sum(case when arm = 'baseline' then cost_n end), 0) as cost_mean_baseline,
        sum(case when arm = 'candidate' then cost_sum end) / nullif(sum(case when arm = 'candidate' then cost_n end), 0) as cost_mean_candidate,
        case when sum(case when arm = 'baseline' then cost_n end) > 1 then greatest(cast(0 as double precision), (
            sum(case when arm = 'baseline' then cost_squares end)
            + sum(case when arm = 'baseline' and cost_n > 0 then cost_shifted_sum * cost_shifted_sum / cost_n end)
            - sum(case when arm = 'baseline' then cost_shifted_sum end) * sum(case when arm = 'baseline' then cost_shifted_sum end)
                / sum(case when arm = 'baseline' then cost_n end)
        ) / (sum(case when arm = 'baseline' then cost_n end) - 1)) end as cost_variance_baseline,
        case when sum(case when arm = 'candidate' then cost_n end) > 1 then greatest(cast(0 as double precision), (
            sum(case when arm = 'candidate' then cost_squares end)
            + sum(case when arm = 'candidate' and cost_n > 0 then cost_shifted_sum * cost_shifted_sum / cost_n end)
            - sum(case when arm = 'candidate' then cost_shifted_sum end) * sum(case when arm = 'candidate' then cost_shifted_sum end)
                / sum(case when arm = 'candidate' then cost_n end)
        ) / (sum(case when arm = 'candidate' then cost_n end) - 1)) end as cost_variance_candidate
    from online_cell_moments
    group by
        comparison_name,
        slice_level,
        feature,
        intent,
        language,
        customer_tier,
        context_band
),

online_metric_rows as (
    select
        comparison_name, 'complaint_rate' as metric, true as is_rate, slice_level,
        feature, intent, language, customer_tier, context_band,
        traces_baseline as n_baseline, traces_candidate as n_candidate,
        complaint_rate_baseline as mean_baseline, complaint_rate_candidate as mean_candidate,
        cast(null as double precision) as variance_baseline, cast(null as double precision) as variance_candidate
    from online_arm_aggregates
    union all
    select
        comparison_name, 'error_rate' as metric, true as is_rate, slice_level,
        feature, intent, language, customer_tier, context_band,
        traces_baseline, traces_candidate,
        error_rate_baseline, error_rate_candidate,
        cast(null as double precision), cast(null as double precision)
    from online_arm_aggregates
    union all
    select
        comparison_name, 'tool_parse_failure_rate' as metric, true as is_rate, slice_level,
        feature, intent, language, customer_tier, context_band,
        traces_baseline, traces_candidate,
        tool_parse_failure_rate_baseline, tool_parse_failure_rate_candidate,
        cast(null as double precision), cast(null as double precision)
    from online_arm_aggregates
    union all
    select
        comparison_name, 'json_parse_failure_rate' as metric, true as is_rate, slice_level,
        feature, intent, language, customer_tier, context_band,
        traces_baseline, traces_candidate,
        json_parse_failure_rate_baseline, json_parse_failure_rate_candidate,
        cast(null as double precision), cast(null as double precision)
    from online_arm_aggregates
    union all
    select
        comparison_name, 'retrieval_empty_rate' as metric, true as is_rate, slice_level,
        feature, intent, language, customer_tier, context_band,
        traces_baseline, traces_candidate,
        retrieval_empty_rate_baseline, retrieval_empty_rate_candidate,
        cast(null as double precision), cast(null as double precision)
    from online_arm_aggregates
    union all
    select
        comparison_name, 'mean_latency_ms' as metric, false as is_rate, slice_level,
        feature, intent, language, customer_tier, context_band,
        latency_n_baseline, latency_n_candidate,
        latency_mean_baseline, latency_mean_candidate,
        latency_variance_baseline, latency_variance_candidate
    from online_arm_aggregates
    where latency_n_baseline + latency_n_candidate > 0
    union all
    select
        comparison_name, 'mean_cost_usd' as metric, false as is_rate, slice_level,
        feature, intent, language, customer_tier, context_band,
        cost_n_baseline, cost_n_candidate,
        cost_mean_baseline, cost_mean_candidate,
        cost_variance_baseline, cost_variance_candidate
    from online_arm_aggregates
    where cost_n_baseline + cost_n_candidate > 0
),

metric_rows as (
    select
        comparison_name, side, metric, is_rate, slice_level,
        feature, intent, language, customer_tier, context_band,
        n_baseline, n_candidate, mean_baseline, mean_candidate, variance_baseline, variance_candidate,
        n_pairs, pair_mean_baseline, pair_mean_candidate, pair_mean_difference, pair_variance,
        cases_regressed, cases_improved
    from offline_metric_rows
    union all
    select
        comparison_name, 'online' as side, metric, is_rate, slice_level,
        feature, intent, language, customer_tier, context_band,
        n_baseline, n_candidate, mean_baseline, mean_candidate, variance_baseline, variance_candidate,
        cast(null as bigint) as n_pairs,
        cast(null as double precision) as pair_mean_baseline,
        cast(null as double precision) as pair_mean_candidate,
        cast(null as double precision) as pair_mean_difference,
        cast(null as double precision) as pair_variance,
        cast(null as bigint) as cases_regressed,
        cast(null as bigint) as cases_improved
    from online_metric_rows
),

measured as (
    select
        metric_rows.*,
        case
            when side = 'offline' and n_pairs >= 30 then 'paired_z'
            when is_rate then 'two_proportion_z'
            else 'welch_z'
        end as statistical_test
    from metric_rows
),

estimated as (
    select
        comparison_name, side, metric, slice_level,
        feature, intent, language, customer_tier, context_band,
        statistical_test,
        case when statistical_test = 'paired_z' then n_pairs else n_baseline end as n_baseline,
        case when statistical_test = 'paired_z' then n_pairs else n_candidate end as n_candidate,
        case when side = 'offline' then n_pairs end as n_pairs,
        case when statistical_test = 'paired_z' then pair_mean_baseline else mean_baseline end as value_baseline,
        case when statistical_test = 'paired_z' then pair_mean_candidate else mean_candidate end as value_candidate,
        case when statistical_test = 'paired_z' then pair_mean_difference else mean_candidate - mean_baseline end as delta,
        -- Standard error of the interval and of the test; equal except for two proportions.
        case
            when statistical_test = 'paired_z' then sqrt(pair_variance / n_pairs)
            when n_baseline < 2 or n_candidate < 2 then null
            when statistical_test = 'two_proportion_z' then sqrt(
                mean_baseline * (1 - mean_baseline) / n_baseline
                + mean_candidate * (1 - mean_candidate) / n_candidate)
            else sqrt(variance_baseline / n_baseline + variance_candidate / n_candidate)
        end as standard_error,
        case
            when statistical_test = 'paired_z' then sqrt(pair_variance / n_pairs)
            when n_baseline < 2 or n_candidate < 2 then null
            when statistical_test = 'two_proportion_z' then sqrt(
                ((mean_baseline * n_baseline + mean_candidate * n_candidate) / (n_baseline + n_candidate))
                * (1 - (mean_baseline * n_baseline + mean_candidate * n_candidate) / (n_baseline + n_candidate))
                * (1.0 / n_baseline + 1.0 / n_candidate))
            else sqrt(variance_baseline / n_baseline + variance_candidate / n_candidate)
        end as test_standard_error,
        case when side = 'offline' and n_pairs > 0 then cases_regressed end as cases_regressed,
        case when side = 'offline' and n_pairs > 0 then cases_improved end as cases_improved
    from measured
),

tested as (
    select
        estimated.*,
        -- A standard error at or below 1e-12 is floating-point noise around equal values, not spread.
        case when test_standard_error > 1e-12 then delta / test_standard_error end as z_score,
        case when test_standard_error > 1e-12 then abs(delta / test_standard_error) / sqrt(2.0) end as erfc_argument
    from estimated
),

normal_tail as (
    select
        tested.*,
        1.0 / (1.0 + 0.3275911 * erfc_argument) as erfc_t
    from tested
),

p_values as (
    select
        comparison_name, side, metric, slice_level,
        feature, intent, language, customer_tier, context_band,
        statistical_test, n_baseline, n_candidate, n_pairs,
        value_baseline, value_candidate, delta,
        delta - 1.959964 * standard_error as ci_low,
        delta + 1.959964 * standard_error as ci_high,
        z_score,
        case
            when test_standard_error is null then null
            when test_standard_error <= 1e-12 then case when abs(delta) <= 1e-12 then cast(1 as double precision) else cast(0 as double precision) end
            -- erfc(27) is below 1e-300: exp() would underflow, which PostgreSQL reports as an error.
            when erfc_argument >= 27 then 0.0
            else erfc_t * (0.254829592 + erfc_t * (-0.284496736 + erfc_t * (1.421413741
                + erfc_t * (-1.453152027 + erfc_t * 1.061405429)))) * exp(-erfc_argument * erfc_argument)
        end as p_value,
        cases_regressed,
        cases_improved
    from normal_tail
),

holm_family as (
    select
        comparison_name, side, metric, slice_level,
        feature, intent, language, customer_tier, context_band,
        p_value,
        count(*) over (partition by comparison_name, side) as family_size,
        row_number() over (
            partition by comparison_name, side
            order by p_value, metric, slice_level, feature, intent, language, customer_tier, context_band
        ) as family_rank
    from p_values
    where p_value is not null and n_baseline >= 30 and n_candidate >= 30
),

holm_adjusted as (
    select
        comparison_name, side, metric, slice_level,
        feature, intent, language, customer_tier, context_band,
        least(1.0, max((family_size - family_rank + 1) * p_value) over (
            partition by comparison_name, side
            order by family_rank
            rows between unbounded preceding and current row
        )) as p_adjusted
    from holm_family
),

final as (
    select
        p_values.comparison_name,
        comparisons.compare_key,
        comparisons.baseline,
        comparisons.candidate,
        p_values.side,
        p_values.metric,
        p_values.side = 'offline' as higher_is_better,
        p_values.slice_level,
        p_values.feature,
        p_values.intent,
        p_values.language,
        p_values.customer_tier,
        '*' as output_format,
        p_values.context_band,
        cast(p_values.n_baseline as bigint) as n_baseline,
        cast(p_values.n_candidate as bigint) as n_candidate,
        cast(p_values.n_pairs as bigint) as n_pairs,
        cast(p_values.value_baseline as double precision) as value_baseline,
        cast(p_values.value_candidate as double precision) as value_candidate,
        cast(p_values.delta as double precision) as delta,
        cast(p_values.ci_low as double precision) as ci_low,
        cast(p_values.ci_high as double precision) as ci_high,
        p_values.statistical_test,
        cast(p_values.z_score as double precision) as z_score,
        cast(p_values.p_value as double precision) as p_value,
        cast(holm_adjusted.p_adjusted as double precision) as p_adjusted,
        cast(p_values.cases_regressed as bigint) as cases_regressed,
        cast(p_values.cases_improved as bigint) as cases_improved,
        case
            when p_values.n_baseline < 30 or p_values.n_candidate < 30 then 'insufficient_data'
            when holm_adjusted.p_adjusted < 0.05 and (p_values.delta > 0) = (p_values.side = 'offline') then 'improved'
            when holm_adjusted.p_adjusted < 0.05 then 'regressed'
            else 'unchanged'
        end as verdict
    from p_values
    inner join comparisons
        on comparisons.comparison_name = p_values.comparison_name
    left join holm_adjusted
        on holm_adjusted.comparison_name = p_values.comparison_name
        and holm_adjusted.side = p_values.side
        and holm_adjusted.metric = p_values.metric
        and holm_adjusted.slice_level = p_values.slice_level
        and holm_adjusted.feature = p_values.feature
        and holm_adjusted.intent = p_values.intent
        and holm_adjusted.language = p_values.language
        and holm_adjusted.customer_tier = p_values.customer_tier
        and holm_adjusted.context_band = p_values.context_band
)

select * from final;
$function$;

create view quality.slice_deltas as
select * from quality.slice_deltas_rows();
