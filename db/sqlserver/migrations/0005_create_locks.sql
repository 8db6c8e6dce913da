-- A fixed bug pinned as a permanent regression case. Without min_score the case must pass;
-- without metric every metric of the case counts.
create table quality.locks (
    lock_name        nvarchar(200)   not null,
    title            nvarchar(500),
    incident_url     nvarchar(2000),
    dataset_id       nvarchar(200)   not null,
    case_id          nvarchar(256)   not null,
    metric           nvarchar(128),
    min_score        float,
    source_trace_id  nvarchar(200),
    created_at       datetime2(6)    not null,
    constraint pk_locks primary key (lock_name)
);
