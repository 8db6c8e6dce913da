-- A registered baseline/candidate pair on one version key. The online windows are optional:
-- without them every trace of each version counts.
-- Key columns use a binary collation: keys keep the case the source gave them and compare
-- exactly, as on DuckDB and PostgreSQL ('Enterprise' and 'enterprise' are two slices), where the
-- usual case-insensitive server default would merge them.
create table quality.comparisons (
    comparison_name  nvarchar(200) collate Latin1_General_100_BIN2  not null,
    compare_key      nvarchar(64) collate Latin1_General_100_BIN2   not null,
    baseline         nvarchar(200) collate Latin1_General_100_BIN2  not null,
    candidate        nvarchar(200) collate Latin1_General_100_BIN2  not null,
    baseline_from    datetime2(6),
    baseline_to      datetime2(6),
    candidate_from   datetime2(6),
    candidate_to     datetime2(6),
    created_at       datetime2(6)   not null,
    constraint pk_comparisons primary key (comparison_name),
    constraint ck_comparisons__compare_key
        check (compare_key in (N'model_version', N'prompt_version', N'retriever_version',
                               N'guardrail_version', N'experiment_bucket'))
);
