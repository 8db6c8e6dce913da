-- Report section "load health": the loader's batches, newest first (one batch per file and attempt).
-- Grain: one row per batch. status: running, loaded, loaded_with_rejects or failed; a batch left
-- running by a killed loader is marked failed by the next one. A file identical to one already
-- loaded is skipped without a batch of its own.
select
    batch_id,
    file_path,
    source_format,
    target_table,
    status,
    rows_read,
    rows_loaded,
    rows_inserted,
    rows_updated,
    rows_rejected,
    started_at,
    finished_at,
    error_message
from etl.load_batches
order by
    batch_id desc;
