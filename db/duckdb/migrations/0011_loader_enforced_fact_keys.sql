-- DuckDB's fact tables give up their unique-key constraints; the loader keeps the natural keys.
-- A DuckDB unique constraint is an ART index, and an ART index must be held in memory whole
-- while rows go in: about 100 MB per million trace rows. A 10-million-row load then needs
-- well over 1 GB, so no memory cap that keeps the loader under 512 MB could load it (measured
-- with tests/Warehouse.Benchmarks and a 10M-row trace CSV: out of memory at every cap up to
-- 768 MB). Without the index the same load runs in DuckDB's capped, spilling hash joins.
-- The natural keys hold as before: every load takes the loader lock (one writer per database
-- file), keeps the last row of each key in its staging table, updates the stored rows of keys
-- it has and inserts only keys the table lacks (Loader.LoadBatchAsync); tests load duplicates,
-- re-loads and later exports and check that no key occurs twice (LoaderKeyTests).
-- DuckDB has no `alter table ... drop constraint`, so each table is rebuilt with the same
-- columns, defaults and checks, its rows copied over, and renamed into place. Views are
-- rebuilt after every migration run, so none is left pointing at the old table.
-- PostgreSQL and SQL Server keep their unique keys: their indexes live on disk.

create table quality.eval_records__0011 (
    source              varchar(64)   not null,
    eval_run_id         varchar(200)  not null,
    case_id             varchar(256)  not null,
    metric              varchar(128)  not null,
    epoch               integer       not null,
    model_version       varchar(200)  not null default 'unknown',
    prompt_version      varchar(200)  not null default 'unknown',
    retriever_version   varchar(200)  not null default 'unknown',
    guardrail_version   varchar(200)  not null default 'unknown',
    experiment_bucket   varchar(200)  not null default 'unknown',
    dataset_id          varchar(200)  not null default 'unknown',
    dataset_version     varchar(200)  not null default 'unknown',
    judge_version       varchar(200)  not null default 'unknown',
    feature             varchar(200)  not null default 'unknown',
    intent              varchar(200)  not null default 'unknown',
    language            varchar(200)  not null default 'unknown',
    customer_tier       varchar(200)  not null default 'unknown',
    output_format       varchar(200)  not null default 'unknown',
    context_band        varchar(16)   not null default 'unknown',
    score               double,
    is_passed           boolean,
    raw_score           varchar(1000),
    latency_ms          double,
    cost_usd            double,
    input_tokens        bigint,
    output_tokens       bigint,
    context_tokens      bigint,
    evaluated_at        timestamp,
    source_trace_id     varchar(200),
    artifact_url        varchar(2000),
    attributes          varchar,
    _batch_id           bigint        not null,
    _loaded_at          timestamp     not null,
    constraint ck_eval_records__context_band
        check (context_band in ('<2k', '2k-8k', '8k-32k', '>=32k', 'unknown'))
);
insert into quality.eval_records__0011 select * from quality.eval_records;
drop table quality.eval_records;
alter table quality.eval_records__0011 rename to eval_records;

create table quality.trace_summaries__0011 (
    source                  varchar(64)   not null,
    trace_id                varchar(200)  not null,
    started_at              timestamp,
    model_version           varchar(200)  not null default 'unknown',
    prompt_version          varchar(200)  not null default 'unknown',
    retriever_version       varchar(200)  not null default 'unknown',
    guardrail_version       varchar(200)  not null default 'unknown',
    experiment_bucket       varchar(200)  not null default 'unknown',
    feature                 varchar(200)  not null default 'unknown',
    intent                  varchar(200)  not null default 'unknown',
    language                varchar(200)  not null default 'unknown',
    customer_tier           varchar(200)  not null default 'unknown',
    output_format           varchar(200)  not null default 'unknown',
    context_band            varchar(16)   not null default 'unknown',
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
    session_id              varchar(200),
    trace_url               varchar(2000),
    input_preview           varchar(2000),
    attributes              varchar,
    _batch_id               bigint        not null,
    _loaded_at              timestamp     not null,
    constraint ck_trace_summaries__context_band
        check (context_band in ('<2k', '2k-8k', '8k-32k', '>=32k', 'unknown')),
    constraint ck_trace_summaries__feedback_score
        check (feedback_score is null or (feedback_score >= 0 and feedback_score <= 1))
);
insert into quality.trace_summaries__0011 select * from quality.trace_summaries;
drop table quality.trace_summaries;
alter table quality.trace_summaries__0011 rename to trace_summaries;

create table etl.trace_parts__0011 (
    source      varchar(64)   not null,
    trace_id    varchar(200)  not null,
    part_id     varchar(300)  not null,
    part_kind   varchar(16)   not null,
    body        varchar       not null,
    _batch_id   bigint        not null,
    _loaded_at  timestamp     not null,
    constraint ck_trace_parts__part_kind
        check (part_kind in ('trace', 'span', 'feedback'))
);
insert into etl.trace_parts__0011 select * from etl.trace_parts;
drop table etl.trace_parts;
alter table etl.trace_parts__0011 rename to trace_parts;
