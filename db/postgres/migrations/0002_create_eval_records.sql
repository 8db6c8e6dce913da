-- One row per eval run × case × metric × epoch, from any eval tool.
-- Keys a source does not provide hold the literal 'unknown' (never null) so joins and
-- group-bys on keys never drop rows. Lengths are enforced by the loader on every engine
-- (PostgreSQL enforces them too); they are the same on all three so the engines' schemas
-- can be compared column by column.
create table quality.eval_records (
    source              varchar(64)       not null,
    eval_run_id         varchar(200)      not null,
    case_id             varchar(256)      not null,
    metric              varchar(128)      not null,
    epoch               integer           not null,
    model_version       varchar(200)      not null default 'unknown',
    prompt_version      varchar(200)      not null default 'unknown',
    retriever_version   varchar(200)      not null default 'unknown',
    guardrail_version   varchar(200)      not null default 'unknown',
    experiment_bucket   varchar(200)      not null default 'unknown',
    dataset_id          varchar(200)      not null default 'unknown',
    dataset_version     varchar(200)      not null default 'unknown',
    judge_version       varchar(200)      not null default 'unknown',
    feature             varchar(200)      not null default 'unknown',
    intent              varchar(200)      not null default 'unknown',
    language            varchar(200)      not null default 'unknown',
    customer_tier       varchar(200)      not null default 'unknown',
    output_format       varchar(200)      not null default 'unknown',
    context_band        varchar(16)       not null default 'unknown',
    score               double precision,
    is_passed           boolean,
    raw_score           varchar(1000),
    latency_ms          double precision,
    cost_usd            double precision,
    input_tokens        bigint,
    output_tokens       bigint,
    context_tokens      bigint,
    evaluated_at        timestamptz,
    source_trace_id     varchar(200),
    artifact_url        varchar(2000),
    attributes          text,
    _batch_id           bigint            not null,
    _loaded_at          timestamptz       not null,
    constraint uq_eval_records__source__eval_run_id__case_id__metric__epoch
        unique (source, eval_run_id, case_id, metric, epoch),
    constraint ck_eval_records__context_band
        check (context_band in ('<2k', '2k-8k', '8k-32k', '>=32k', 'unknown'))
);
