-- DuckDB answers the views' scans with zone maps and hash joins; secondary ART indexes
-- would only slow the bulk loads, so the fact tables keep just their unique keys here.
-- Bookkeeping lookups by batch are the exception: `status` and the report read them often.
create index ix_rejected_records__batch_id on etl.rejected_records (batch_id);
create index ix_load_batches__file_hash on etl.load_batches (file_hash);
