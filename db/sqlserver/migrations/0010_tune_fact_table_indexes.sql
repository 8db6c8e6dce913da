-- The fact tables become clustered columnstores: every view aggregates most of a fact table, which
-- a columnstore reads compressed and in batch mode, and bulk loads of 102,400 rows or more go
-- straight into compressed row groups. The unique keys stay enforced by their nonclustered
-- constraints (allowed beside a clustered columnstore since SQL Server 2016).
-- As on PostgreSQL (measured there with tests/Warehouse.Benchmarks: no view used them, and a
-- 1-million-row load took 47.7 s with them against 28.9 s without), the version-key and tier
-- indexes of 0008 go. The time columns keep a nonclustered index each for the online windows
-- and the newest lock results, under the names the clustered ones had.
drop index ix_trace_summaries__model_version__prompt_version on quality.trace_summaries;
drop index ix_trace_summaries__prompt_version on quality.trace_summaries;
drop index ix_trace_summaries__customer_tier__feature on quality.trace_summaries;
drop index ix_eval_records__model_version__prompt_version on quality.eval_records;
drop index ix_eval_records__prompt_version on quality.eval_records;

drop index ix_trace_summaries__started_at on quality.trace_summaries;
create clustered columnstore index ix_trace_summaries__columnstore on quality.trace_summaries;
create index ix_trace_summaries__started_at on quality.trace_summaries (started_at);

drop index ix_eval_records__evaluated_at on quality.eval_records;
create clustered columnstore index ix_eval_records__columnstore on quality.eval_records;
create index ix_eval_records__evaluated_at on quality.eval_records (evaluated_at);
