-- quality.trace_slices: production traffic aggregated for dashboards and trend charts.
-- Grain: one row per started_date × source × version keys × slice labels.
-- Rates are fractions in 0..1 of all traces in the row; latency in milliseconds, cost in USD.
-- started_date is the UTC day: a timestamptz cast to date would follow the session's time zone.
drop view if exists quality.trace_slices cascade;
drop function if exists quality.trace_slices_rows();

-- PostgreSQL only: the query lives in a function so that it can carry its own settings, which a
-- view cannot (as quality.slice_deltas_rows does). The planner multiplies the label columns'
-- distinct counts, expects a million groups where about 240,000 arrive at 1 million traces, and
-- so sorted every trace on thirteen keys, twelve of them collation-aware text with long runs of
-- ties: about 7 s of CPU in the sort alone. Hashing the same rows takes about 3 s (enable_sort =
-- off); work_mem 64MB keeps the hash table's spill to a few batches; jit = off because the
-- plan's cost crosses the JIT thresholds, which here only adds compile time. The view below is
-- the interface and casts the labels back to the fact table's varchar lengths, which a
-- function's result columns do not carry.
create function quality.trace_slices_rows()
returns table (
    started_date date,
    source varchar,
    model_version varchar,
    prompt_version varchar,
    retriever_version varchar,
    guardrail_version varchar,
    experiment_bucket varchar,
    feature varchar,
    intent varchar,
    language varchar,
    customer_tier varchar,
    output_format varchar,
    context_band varchar,
    n_traces bigint,
    n_complaints bigint,
    complaint_rate double precision,
    n_errors bigint,
    error_rate double precision,
    n_tool_parse_failures bigint,
    tool_parse_failure_rate double precision,
    n_json_parse_failures bigint,
    json_parse_failure_rate double precision,
    n_retrieval_empty bigint,
    retrieval_empty_rate double precision,
    n_feedback bigint,
    mean_feedback_score double precision,
    mean_latency_ms double precision,
    mean_cost_usd double precision,
    total_cost_usd double precision,
    total_input_tokens bigint,
    total_output_tokens bigint
)
language sql
stable
set jit = off
set work_mem = '64MB'
set enable_sort = off
as $function$
with

trace_summaries as (
    select * from quality.trace_summaries
),

cells as (
    -- PostgreSQL only: counts and sums, the cheapest transition states to hash 240,000 groups
    -- with; final derives the rates and means from them. Each equals the other engines' avg()
    -- bit for bit: a rate's numerator and denominator are whole numbers held exactly in double
    -- precision, and avg() of a double is its running sum over its count, as here.
    select
        cast(started_at at time zone 'UTC' as date) as started_date,
        source,
        model_version,
        prompt_version,
        retriever_version,
        guardrail_version,
        experiment_bucket,
        feature,
        intent,
        language,
        customer_tier,
        output_format,
        context_band,
        count(*) as n_traces,
        count(*) filter (where has_complaint) as n_complaints,
        count(*) filter (where is_error) as n_errors,
        count(*) filter (where has_tool_parse_failure) as n_tool_parse_failures,
        count(*) filter (where has_json_parse_failure) as n_json_parse_failures,
        count(*) filter (where is_retrieval_empty) as n_retrieval_empty,
        count(feedback_score) as n_feedback,
        sum(feedback_score) as feedback_score_sum,
        count(latency_ms) as n_latency,
        sum(latency_ms) as latency_ms_sum,
        count(cost_usd) as n_cost,
        sum(cost_usd) as total_cost_usd,
        cast(sum(input_tokens) as bigint) as total_input_tokens,
        cast(sum(output_tokens) as bigint) as total_output_tokens
    from trace_summaries
    group by
        cast(started_at at time zone 'UTC' as date),
        source,
        model_version,
        prompt_version,
        retriever_version,
        guardrail_version,
        experiment_bucket,
        feature,
        intent,
        language,
        customer_tier,
        output_format,
        context_band
),

final as (
    select
        started_date,
        source,
        model_version,
        prompt_version,
        retriever_version,
        guardrail_version,
        experiment_bucket,
        feature,
        intent,
        language,
        customer_tier,
        output_format,
        context_band,
        n_traces,
        n_complaints,
        cast(n_complaints as double precision) / n_traces as complaint_rate,
        n_errors,
        cast(n_errors as double precision) / n_traces as error_rate,
        n_tool_parse_failures,
        cast(n_tool_parse_failures as double precision) / n_traces as tool_parse_failure_rate,
        n_json_parse_failures,
        cast(n_json_parse_failures as double precision) / n_traces as json_parse_failure_rate,
        n_retrieval_empty,
        cast(n_retrieval_empty as double precision) / n_traces as retrieval_empty_rate,
        n_feedback,
        feedback_score_sum / n_feedback as mean_feedback_score,
        latency_ms_sum / n_latency as mean_latency_ms,
        total_cost_usd / n_cost as mean_cost_usd,
        total_cost_usd,
        total_input_tokens,
        total_output_tokens
    from cells
)

select * from final;
$function$;

create view quality.trace_slices as
select
    started_date,
    cast(source as varchar(64)) as source,
    cast(model_version as varchar(200)) as model_version,
    cast(prompt_version as varchar(200)) as prompt_version,
    cast(retriever_version as varchar(200)) as retriever_version,
    cast(guardrail_version as varchar(200)) as guardrail_version,
    cast(experiment_bucket as varchar(200)) as experiment_bucket,
    cast(feature as varchar(200)) as feature,
    cast(intent as varchar(200)) as intent,
    cast(language as varchar(200)) as language,
    cast(customer_tier as varchar(200)) as customer_tier,
    cast(output_format as varchar(200)) as output_format,
    cast(context_band as varchar(16)) as context_band,
    n_traces,
    n_complaints,
    complaint_rate,
    n_errors,
    error_rate,
    n_tool_parse_failures,
    tool_parse_failure_rate,
    n_json_parse_failures,
    json_parse_failure_rate,
    n_retrieval_empty,
    retrieval_empty_rate,
    n_feedback,
    mean_feedback_score,
    mean_latency_ms,
    mean_cost_usd,
    total_cost_usd,
    total_input_tokens,
    total_output_tokens
from quality.trace_slices_rows();
