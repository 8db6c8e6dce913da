-- Measured with tests/Warehouse.Benchmarks at 1 million traces and 200,000 eval records: no
-- view's plan used the version-key and tier b-trees of 0008 (every view reads most of a fact
-- table, where a sequential scan wins), while every bulk load paid to maintain them: a 1-million-
-- row CSV load took 47.7 s with them and 28.9 s without. They go; the unique keys, the BRIN index
-- on started_at and the eval-record links (source_trace_id, dataset_id + case_id, evaluated_at),
-- which the anti-join of seed_candidates and the lookups of lock_status use, stay.
drop index if exists quality.ix_trace_summaries__model_version__prompt_version;
drop index if exists quality.ix_trace_summaries__prompt_version;
drop index if exists quality.ix_trace_summaries__customer_tier__feature;
drop index if exists quality.ix_eval_records__model_version__prompt_version;
drop index if exists quality.ix_eval_records__prompt_version;
