-- One row per production trace. A later export of the same trace (late feedback, a
-- complaint filed a day later) updates the row through the natural key; it never duplicates it.
-- Flags default to false: a source that does not report a condition did not observe it.
create table quality.trace_summaries (
    source                  varchar(64)       not null,
    trace_id                varchar(200)      not null,
    started_at              timestamptz,
    model_version           varchar(200)      not null default 'unknown',
    prompt_version          varchar(200)      not null default 'unknown',
    retriever_version       varchar(200)      not null default 'unknown',
    guardrail_version       varchar(200)      not null default 'unknown',
    experiment_bucket       varchar(200)      not null default 'unknown',
    feature                 varchar(200)      not null default 'unknown',
    intent                  varchar(200)      not null default 'unknown',
    language                varchar(200)      not null default 'unknown',
    customer_tier           varchar(200)      not null default 'unknown',
    output_format           varchar(200)      not null default 'unknown',
    context_band            varchar(16)       not null default 'unknown',
    latency_ms              double precision,
    cost_usd                double precision,
    input_tokens            bigint,
    output_tokens           bigint,
    context_tokens          bigint,
    is_error                boolean           not null default false,
    error_type              varchar(200),
    has_complaint           boolean           not null default false,
    feedback_score          double precision,
    has_tool_parse_failure  boolean           not null default false,
    has_json_parse_failure  boolean           not null default false,
    is_retrieval_empty      boolean           not null default false,
    session_id              varchar(200),
    trace_url               varchar(2000),
    input_preview           varchar(2000),
    attributes              text,
    _batch_id               bigint            not null,
    _loaded_at              timestamptz       not null,
    constraint uq_trace_summaries__source__trace_id
        unique (source, trace_id),
    constraint ck_trace_summaries__context_band
        check (context_band in ('<2k', '2k-8k', '8k-32k', '>=32k', 'unknown')),
    constraint ck_trace_summaries__feedback_score
        check (feedback_score is null or (feedback_score >= 0 and feedback_score <= 1))
);
