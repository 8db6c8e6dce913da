-- One row per eval run × case × metric × epoch, from any eval tool.
-- Keys a source does not provide hold the literal 'unknown' (never null) so joins and
-- group-bys on keys never drop rows. Lengths are enforced by the loader on every engine
-- (SQL Server enforces them too); they are the same on all three so the engines' schemas
-- can be compared column by column.
-- The natural key is 64 + 200 + 256 + 128 nvarchar characters (1,296 bytes) plus a 4-byte int:
-- under SQL Server's 1,700-byte limit for a nonclustered index key, which is why these
-- lengths are what they are. Defaults are named so a later `alter` is the same everywhere.
-- Key columns use a binary collation: keys keep the case the source gave them and compare
-- exactly, as on DuckDB and PostgreSQL ('Enterprise' and 'enterprise' are two slices), where the
-- usual case-insensitive server default would merge them.
create table quality.eval_records (
    source              nvarchar(64) collate Latin1_General_100_BIN2    not null,
    eval_run_id         nvarchar(200) collate Latin1_General_100_BIN2   not null,
    case_id             nvarchar(256) collate Latin1_General_100_BIN2   not null,
    metric              nvarchar(128) collate Latin1_General_100_BIN2   not null,
    epoch               int             not null,
    model_version       nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_eval_records__model_version default N'unknown',
    prompt_version      nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_eval_records__prompt_version default N'unknown',
    retriever_version   nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_eval_records__retriever_version default N'unknown',
    guardrail_version   nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_eval_records__guardrail_version default N'unknown',
    experiment_bucket   nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_eval_records__experiment_bucket default N'unknown',
    dataset_id          nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_eval_records__dataset_id default N'unknown',
    dataset_version     nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_eval_records__dataset_version default N'unknown',
    judge_version       nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_eval_records__judge_version default N'unknown',
    feature             nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_eval_records__feature default N'unknown',
    intent              nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_eval_records__intent default N'unknown',
    language            nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_eval_records__language default N'unknown',
    customer_tier       nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_eval_records__customer_tier default N'unknown',
    output_format       nvarchar(200) collate Latin1_General_100_BIN2   not null constraint df_eval_records__output_format default N'unknown',
    context_band        nvarchar(16) collate Latin1_General_100_BIN2    not null constraint df_eval_records__context_band default N'unknown',
    score               float,
    is_passed           bit,
    raw_score           nvarchar(1000),
    latency_ms          float,
    cost_usd            float,
    input_tokens        bigint,
    output_tokens       bigint,
    context_tokens      bigint,
    evaluated_at        datetime2(6),
    source_trace_id     nvarchar(200) collate Latin1_General_100_BIN2,
    artifact_url        nvarchar(2000),
    attributes          nvarchar(max),
    _batch_id           bigint          not null,
    _loaded_at          datetime2(6)    not null,
    constraint uq_eval_records__source__eval_run_id__case_id__metric__epoch
        unique nonclustered (source, eval_run_id, case_id, metric, epoch),
    constraint ck_eval_records__context_band
        check (context_band in (N'<2k', N'2k-8k', N'8k-32k', N'>=32k', N'unknown'))
);
