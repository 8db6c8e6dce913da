-- A fixed bug pinned as a permanent regression case. Without min_score the case must pass;
-- without metric every metric of the case counts.
create table quality.locks (
    lock_name        varchar(200)   not null,
    title            varchar(500),
    incident_url     varchar(2000),
    dataset_id       varchar(200)   not null,
    case_id          varchar(256)   not null,
    metric           varchar(128),
    min_score        double,
    source_trace_id  varchar(200),
    created_at       timestamp      not null,
    constraint pk_locks primary key (lock_name)
);
