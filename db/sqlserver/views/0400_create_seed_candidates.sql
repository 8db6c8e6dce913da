-- quality.seed_candidates: production traces worth turning into tomorrow's eval cases.
-- Grain: one row per trace with at least one reason that no eval record (source_trace_id) and
-- no lock already links to. Reasons and weights, most urgent first: complaint 100,
-- negative_feedback (feedback_score < 0.5) 80, json_parse_failure 70, tool_parse_failure 70,
-- error 60, retrieval_empty 50, high_cost_low_feedback 40 (cost above twice the feature's mean
-- cost with feedback_score < 0.7). reason is the weightiest; priority adds 5 per further reason.
create or alter view quality.seed_candidates as
with

trace_summaries as (
    select * from quality.trace_summaries
),

eval_records as (
    select * from quality.eval_records
),

locks as (
    select * from quality.locks
),

linked_traces as (
    select source_trace_id as trace_id from eval_records where source_trace_id is not null
    union
    select source_trace_id as trace_id from locks where source_trace_id is not null
),

flagged as (
    select
        trace_summaries.*,
        case when has_complaint = 1 then 1 else 0 end as is_complaint,
        case when feedback_score < 0.5 then 1 else 0 end as is_negative_feedback,
        case when has_json_parse_failure = 1 then 1 else 0 end as is_json_parse_failure,
        case when has_tool_parse_failure = 1 then 1 else 0 end as is_tool_parse_failure,
        case when is_error = 1 then 1 else 0 end as is_errored,
        case when is_retrieval_empty = 1 then 1 else 0 end as is_empty_retrieval,
        case
            when cost_usd > 2 * avg(cost_usd) over (partition by feature) and feedback_score < 0.7 then 1
            else 0
        end as is_high_cost_low_feedback
    from trace_summaries
),

reasoned as (
    select
        flagged.*,
        case
            when is_complaint = 1 then 'complaint'
            when is_negative_feedback = 1 then 'negative_feedback'
            when is_json_parse_failure = 1 then 'json_parse_failure'
            when is_tool_parse_failure = 1 then 'tool_parse_failure'
            when is_errored = 1 then 'error'
            when is_empty_retrieval = 1 then 'retrieval_empty'
            when is_high_cost_low_feedback = 1 then 'high_cost_low_feedback'
        end as reason,
        case
            when is_complaint = 1 then 100
            when is_negative_feedback = 1 then 80
            when is_json_parse_failure = 1 then 70
            when is_tool_parse_failure = 1 then 70
            when is_errored = 1 then 60
            when is_empty_retrieval = 1 then 50
            when is_high_cost_low_feedback = 1 then 40
        end as reason_weight,
        is_complaint + is_negative_feedback + is_json_parse_failure + is_tool_parse_failure
            + is_errored + is_empty_retrieval + is_high_cost_low_feedback as reason_count,
        -- Every reason in weight order, comma-joined; the trailing comma is cut in final.
        case when is_complaint = 1 then 'complaint,' else '' end
            + case when is_negative_feedback = 1 then 'negative_feedback,' else '' end
            + case when is_json_parse_failure = 1 then 'json_parse_failure,' else '' end
            + case when is_tool_parse_failure = 1 then 'tool_parse_failure,' else '' end
            + case when is_errored = 1 then 'error,' else '' end
            + case when is_empty_retrieval = 1 then 'retrieval_empty,' else '' end
            + case when is_high_cost_low_feedback = 1 then 'high_cost_low_feedback,' else '' end as reason_list
    from flagged
),

final as (
    select
        reasoned.source,
        reasoned.trace_id,
        reasoned.started_at,
        reasoned.model_version,
        reasoned.prompt_version,
        reasoned.retriever_version,
        reasoned.guardrail_version,
        reasoned.experiment_bucket,
        reasoned.feature,
        reasoned.intent,
        reasoned.language,
        reasoned.customer_tier,
        reasoned.output_format,
        reasoned.context_band,
        reasoned.reason,
        -- nullif: SQL Server may compute this before the reason_count filter, and a negative
        -- length is an error there; reason_list never ends in a space, so len() counts the comma.
        substring(reasoned.reason_list, 1, nullif(len(reasoned.reason_list), 0) - 1) as reasons,
        reasoned.reason_weight + 5 * (reasoned.reason_count - 1) as priority,
        reasoned.has_complaint,
        reasoned.feedback_score,
        reasoned.is_error,
        reasoned.error_type,
        reasoned.latency_ms,
        reasoned.cost_usd,
        reasoned.session_id,
        reasoned.trace_url,
        reasoned.input_preview
    from reasoned
    left join linked_traces
        on linked_traces.trace_id = reasoned.trace_id
    where reasoned.reason_count > 0
        and linked_traces.trace_id is null
)

select * from final;
