-- One row per loaded file: a file is one batch in one transaction. The row is written
-- before the load starts (status 'running') so a load that dies leaves a trace of itself.
-- An identity column replaces DuckDB's explicit sequence; the values mean the same.
create table etl.load_batches (
    batch_id         bigint          identity(1, 1) not null,
    file_path        nvarchar(1000)  not null,
    file_hash        nvarchar(64)    not null,
    file_size_bytes  bigint          not null,
    source_format    nvarchar(64),
    target_table     nvarchar(64),
    rows_read        bigint          not null constraint df_load_batches__rows_read default 0,
    rows_loaded      bigint          not null constraint df_load_batches__rows_loaded default 0,
    rows_rejected    bigint          not null constraint df_load_batches__rows_rejected default 0,
    rows_inserted    bigint          not null constraint df_load_batches__rows_inserted default 0,
    rows_updated     bigint          not null constraint df_load_batches__rows_updated default 0,
    started_at       datetime2(6)    not null,
    finished_at      datetime2(6),
    status           nvarchar(32)    not null,
    error_message    nvarchar(4000),
    constraint pk_load_batches primary key (batch_id),
    constraint ck_load_batches__status
        check (status in (N'running', N'loaded', N'loaded_with_rejects', N'skipped', N'failed'))
);
