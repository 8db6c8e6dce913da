-- DuckDB answers the views' scans with zone maps and hash joins and keeps only the two
-- bookkeeping indexes at the end of this script. SQL Server reads through indexes, so here the
-- fact tables also get one index per join or filter path the views use: the online time
-- window, version keys (which rows are baseline and candidate), slice labels, and the links
-- from eval records to traces and locks. Each one slows the bulk upserts a little: add one
-- only for a view that needs it.

-- The fact tables are clustered on time, not on their natural keys: a clustered key may be at
-- most 900 bytes and the eval natural key is 1,300. Rows arrive roughly in time order, so
-- loads append at the end, and a clustered table spares the late-feedback updates the
-- forwarded rows a heap would collect.
-- Online windows (baseline_from/to, candidate_from/to) filter traces by started_at: the
-- counterpart of PostgreSQL's BRIN index.
create clustered index ix_trace_summaries__started_at
    on quality.trace_summaries (started_at);

-- lock_status reports the newest result per lock and version, as do reports on recent runs.
create clustered index ix_eval_records__evaluated_at
    on quality.eval_records (evaluated_at);

-- A comparison picks its baseline and candidate rows by one version key. Model and prompt
-- versions are the keys compared most: the pair serves model comparisons (and model+prompt
-- drill-downs), the single column serves prompt comparisons.
create index ix_trace_summaries__model_version__prompt_version
    on quality.trace_summaries (model_version, prompt_version);
create index ix_trace_summaries__prompt_version
    on quality.trace_summaries (prompt_version);
create index ix_eval_records__model_version__prompt_version
    on quality.eval_records (model_version, prompt_version);
create index ix_eval_records__prompt_version
    on quality.eval_records (prompt_version);

-- coverage_gaps and slice_mix read production traffic by slice; the question usually starts
-- from a tier ("enterprise complaints rose") and drills into features, so the tier leads.
create index ix_trace_summaries__customer_tier__feature
    on quality.trace_summaries (customer_tier, feature);

-- seed_candidates keeps only traces no eval record links to yet: an anti-join on
-- source_trace_id that would otherwise scan every eval record.
create index ix_eval_records__source_trace_id
    on quality.eval_records (source_trace_id);

-- lock_status finds each lock's pinned case by dataset and case id (912 bytes, within the
-- 1,700-byte limit of a nonclustered key).
create index ix_eval_records__dataset_id__case_id
    on quality.eval_records (dataset_id, case_id);

-- Bookkeeping lookups by batch: `status` and the report read them often.
create index ix_rejected_records__batch_id on etl.rejected_records (batch_id);
create index ix_load_batches__file_hash on etl.load_batches (file_hash);
