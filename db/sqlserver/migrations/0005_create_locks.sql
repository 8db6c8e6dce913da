-- A fixed bug pinned as a permanent regression case. Without min_score the case must pass;
-- without metric every metric of the case counts.
-- Key columns use a binary collation: keys keep the case the source gave them and compare
-- exactly, as on DuckDB and PostgreSQL ('Enterprise' and 'enterprise' are two slices), where the
-- usual case-insensitive server default would merge them.
create table quality.locks (
    lock_name        nvarchar(200) collate Latin1_General_100_BIN2   not null,
    title            nvarchar(500),
    incident_url     nvarchar(2000),
    dataset_id       nvarchar(200) collate Latin1_General_100_BIN2   not null,
    case_id          nvarchar(256) collate Latin1_General_100_BIN2   not null,
    metric           nvarchar(128) collate Latin1_General_100_BIN2,
    min_score        float,
    source_trace_id  nvarchar(200) collate Latin1_General_100_BIN2,
    created_at       datetime2(6)    not null,
    constraint pk_locks primary key (lock_name)
);
