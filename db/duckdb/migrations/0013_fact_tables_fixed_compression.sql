-- The two fact tables name the compression of the text columns whose kind of value is known by
-- design, as 0012 did for etl.trace_parts: dictionary for the source, the version keys and the
-- slice labels (a few distinct values per segment by what they are), FSST for the identifiers,
-- links and previews (mostly distinct text). Left to itself, DuckDB tries every method on every
-- column segment a load writes and, on these columns, chose those same methods every time. Measured
-- under the loader's settings (one thread, 128 MB), an insert of 1 million trace rows took
-- 4.76-4.85 s with the analysis and 4.09-4.34 s with the methods named, 200,000 eval rows 1.22-1.32 s
-- and 0.94-1.01 s, for tables of the same size (219-222 MB either way). Columns whose values
-- depend on the source (attributes, raw_score, error_type) and the numbers, timestamps and flags
-- keep the analysis. A forced dictionary on a column that does hold a distinct value per row
-- costs space, not time (1 million distinct run ids: 163 segments instead of 74, inserted as fast).
-- DuckDB has no `alter column ... set compression`, so each table is rebuilt, as in 0011 and 0012.
create table quality.eval_records__0013 (
    source              varchar(64)   using compression dictionary  not null,
    eval_run_id         varchar(200)  using compression dictionary  not null,
    case_id             varchar(256)  using compression fsst        not null,
    metric              varchar(128)  using compression dictionary  not null,
    epoch               integer       not null,
    model_version       varchar(200)  using compression dictionary  not null default 'unknown',
    prompt_version      varchar(200)  using compression dictionary  not null default 'unknown',
    retriever_version   varchar(200)  using compression dictionary  not null default 'unknown',
    guardrail_version   varchar(200)  using compression dictionary  not null default 'unknown',
    experiment_bucket   varchar(200)  using compression dictionary  not null default 'unknown',
    dataset_id          varchar(200)  using compression dictionary  not null default 'unknown',
    dataset_version     varchar(200)  using compression dictionary  not null default 'unknown',
    judge_version       varchar(200)  using compression dictionary  not null default 'unknown',
    feature             varchar(200)  using compression dictionary  not null default 'unknown',
    intent              varchar(200)  using compression dictionary  not null default 'unknown',
    language            varchar(200)  using compression dictionary  not null default 'unknown',
    customer_tier       varchar(200)  using compression dictionary  not null default 'unknown',
    output_format       varchar(200)  using compression dictionary  not null default 'unknown',
    context_band        varchar(16)   using compression dictionary  not null default 'unknown',
    score               double,
    is_passed           boolean,
    raw_score           varchar(1000),
    latency_ms          double,
    cost_usd            double,
    input_tokens        bigint,
    output_tokens       bigint,
    context_tokens      bigint,
    evaluated_at        timestamp,
    source_trace_id     varchar(200)  using compression fsst,
    artifact_url        varchar(2000) using compression fsst,
    attributes          varchar,
    _batch_id           bigint        not null,
    _loaded_at          timestamp     not null,
    constraint ck_eval_records__context_band
        check (context_band in ('<2k', '2k-8k', '8k-32k', '>=32k', 'unknown'))
);
insert into quality.eval_records__0013 select * from quality.eval_records;
drop table quality.eval_records;
alter table quality.eval_records__0013 rename to eval_records;

create table quality.trace_summaries__0013 (
    source                  varchar(64)   using compression dictionary  not null,
    trace_id                varchar(200)  using compression fsst        not null,
    started_at              timestamp,
    model_version           varchar(200)  using compression dictionary  not null default 'unknown',
    prompt_version          varchar(200)  using compression dictionary  not null default 'unknown',
    retriever_version       varchar(200)  using compression dictionary  not null default 'unknown',
    guardrail_version       varchar(200)  using compression dictionary  not null default 'unknown',
    experiment_bucket       varchar(200)  using compression dictionary  not null default 'unknown',
    feature                 varchar(200)  using compression dictionary  not null default 'unknown',
    intent                  varchar(200)  using compression dictionary  not null default 'unknown',
    language                varchar(200)  using compression dictionary  not null default 'unknown',
    customer_tier           varchar(200)  using compression dictionary  not null default 'unknown',
    output_format           varchar(200)  using compression dictionary  not null default 'unknown',
    context_band            varchar(16)   using compression dictionary  not null default 'unknown',
    latency_ms              double,
    cost_usd                double,
    input_tokens            bigint,
    output_tokens           bigint,
    context_tokens          bigint,
    is_error                boolean       not null default false,
    error_type              varchar(200),
    has_complaint           boolean       not null default false,
    feedback_score          double,
    has_tool_parse_failure  boolean       not null default false,
    has_json_parse_failure  boolean       not null default false,
    is_retrieval_empty      boolean       not null default false,
    session_id              varchar(200)  using compression fsst,
    trace_url               varchar(2000) using compression fsst,
    input_preview           varchar(2000) using compression fsst,
    attributes              varchar,
    _batch_id               bigint        not null,
    _loaded_at              timestamp     not null,
    constraint ck_trace_summaries__context_band
        check (context_band in ('<2k', '2k-8k', '8k-32k', '>=32k', 'unknown')),
    constraint ck_trace_summaries__feedback_score
        check (feedback_score is null or (feedback_score >= 0 and feedback_score <= 1))
);
insert into quality.trace_summaries__0013 select * from quality.trace_summaries;
drop table quality.trace_summaries;
alter table quality.trace_summaries__0013 rename to trace_summaries;
