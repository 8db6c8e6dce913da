-- Records the loader could not read, with where they were and why, so nothing is dropped
-- silently. raw_record keeps at most 64 KiB of the original text.
-- An identity column replaces DuckDB's explicit sequence; the values mean the same.
create table etl.rejected_records (
    rejected_record_id  bigint          identity(1, 1) not null,
    batch_id            bigint          not null,
    file_path           nvarchar(1000)  not null,
    record_number       bigint          not null,
    reason              nvarchar(2000)  not null,
    raw_record          nvarchar(max),
    rejected_at         datetime2(6)    not null,
    constraint pk_rejected_records primary key (rejected_record_id)
);
