-- One row per loaded file: a file is one batch in one transaction. The row is written
-- before the load starts (status 'running') so a load that dies leaves a trace of itself.
create sequence etl.seq_load_batches__batch_id start 1;

create table etl.load_batches (
    batch_id         bigint         not null default nextval('etl.seq_load_batches__batch_id'),
    file_path        varchar(1000)  not null,
    file_hash        varchar(64)    not null,
    file_size_bytes  bigint         not null,
    source_format    varchar(64),
    target_table     varchar(64),
    rows_read        bigint         not null default 0,
    rows_loaded      bigint         not null default 0,
    rows_rejected    bigint         not null default 0,
    rows_inserted    bigint         not null default 0,
    rows_updated     bigint         not null default 0,
    started_at       timestamp      not null,
    finished_at      timestamp,
    status           varchar(32)    not null,
    error_message    varchar(4000),
    constraint pk_load_batches primary key (batch_id),
    constraint ck_load_batches__status
        check (status in ('running', 'loaded', 'loaded_with_rejects', 'skipped', 'failed'))
);
