-- Report section "load health" (rejects): why records were refused, per file and reason.
-- Grain: one row per batch × reason, the most recent batches first; the records themselves
-- (raw_record, record_number) are in etl.rejected_records.
select
    batch_id,
    file_path,
    reason,
    count(*) as n_records,
    min(record_number) as first_record_number,
    max(rejected_at) as last_rejected_at
from etl.rejected_records
group by
    batch_id,
    file_path,
    reason
order by
    batch_id desc,
    n_records desc,
    reason;
