-- One row per production trace. A later export of the same trace (late feedback, a
-- complaint filed a day later) updates the row through the natural key; it never duplicates it.
-- Flags default to false: a source that does not report a condition did not observe it.
-- The natural key is 64 + 200 nvarchar characters (528 bytes), well under SQL Server's
-- 1,700-byte limit for a nonclustered index key. Defaults are named so a later `alter` is the
-- same everywhere.
-- Key columns use a binary collation: keys keep the case the source gave them and compare
-- exactly, as on DuckDB and PostgreSQL ('Enterprise' and 'enterprise' are two slices), where the
-- usual case-insensitive server default would merge them.
create table quality.trace_summaries (
    source                  nvarchar(64) collate Latin1_General_100_BIN2    not null,
    trace_id                nvarchar(200) collate Latin1_General_100_BIN2   not null,
    started_at              datetime2(6),
    model_version           nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_trace_summaries__model_version default N'unknown',
    prompt_version          nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_trace_summaries__prompt_version default N'unknown',
    retriever_version       nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_trace_summaries__retriever_version default N'unknown',
    guardrail_version       nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_trace_summaries__guardrail_version default N'unknown',
    experiment_bucket       nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_trace_summaries__experiment_bucket default N'unknown',
    feature                 nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_trace_summaries__feature default N'unknown',
    intent                  nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_trace_summaries__intent default N'unknown',
    language                nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_trace_summaries__language default N'unknown',
    customer_tier           nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_trace_summaries__customer_tier default N'unknown',
    output_format           nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_trace_summaries__output_format default N'unknown',
    context_band            nvarchar(16) collate Latin1_General_100_BIN2    not null constraint df_trace_summaries__context_band default N'unknown',
    latency_ms              float,
    cost_usd                float,
    input_tokens            bigint,
    output_tokens           bigint,
    context_tokens          bigint,
    is_error                bit             not null constraint df_trace_summaries__is_error default 0,
    error_type              nvarchar(200),
    has_complaint           bit             not null constraint df_trace_summaries__has_complaint default 0,
    feedback_score          float,
    has_tool_parse_failure  bit             not null constraint df_trace_summaries__has_tool_parse_failure default 0,
    has_json_parse_failure  bit             not null constraint df_trace_summaries__has_json_parse_failure default 0,
    is_retrieval_empty      bit             not null constraint df_trace_summaries__is_retrieval_empty default 0,
    session_id              nvarchar(200),
    trace_url               nvarchar(2000),
    input_preview           nvarchar(2000),
    attributes              nvarchar(max),
    _batch_id               bigint          not null,
    _loaded_at              datetime2(6)    not null,
    constraint uq_trace_summaries__source__trace_id
        unique nonclustered (source, trace_id),
    constraint ck_trace_summaries__context_band
        check (context_band in (N'<2k', N'2k-8k', N'8k-32k', N'>=32k', N'unknown')),
    constraint ck_trace_summaries__feedback_score
        check (feedback_score is null or (feedback_score >= 0 and feedback_score <= 1))
);
