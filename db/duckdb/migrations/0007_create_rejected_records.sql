-- Records the loader could not read, with where they were and why, so nothing is dropped
-- silently. raw_record keeps at most 64 KiB of the original text.
create sequence etl.seq_rejected_records__rejected_record_id start 1;

create table etl.rejected_records (
    rejected_record_id  bigint         not null default nextval('etl.seq_rejected_records__rejected_record_id'),
    batch_id            bigint         not null,
    file_path           varchar(1000)  not null,
    record_number       bigint         not null,
    reason              varchar(2000)  not null,
    raw_record          varchar,
    rejected_at         timestamp      not null,
    constraint pk_rejected_records primary key (rejected_record_id)
);
