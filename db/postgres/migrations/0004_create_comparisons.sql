-- A registered baseline/candidate pair on one version key. The online windows are optional:
-- without them every trace of each version counts.
create table quality.comparisons (
    comparison_name  varchar(200)  not null,
    compare_key      varchar(64)   not null,
    baseline         varchar(200)  not null,
    candidate        varchar(200)  not null,
    baseline_from    timestamptz,
    baseline_to      timestamptz,
    candidate_from   timestamptz,
    candidate_to     timestamptz,
    created_at       timestamptz   not null,
    constraint pk_comparisons primary key (comparison_name),
    constraint ck_comparisons__compare_key
        check (compare_key in ('model_version', 'prompt_version', 'retriever_version',
                               'guardrail_version', 'experiment_bucket'))
);
