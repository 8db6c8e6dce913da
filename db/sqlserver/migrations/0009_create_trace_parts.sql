-- The parts of production traces as trace stores export them: a trace record, spans
-- (observations, runs, requests) and feedback, one row each, normalised to JSON in `body`.
-- A trace's spans arrive over several lines and files, and its feedback hours later; the
-- loader keeps every part here and rolls the trace up again from all of its parts each time
-- one arrives, so quality.trace_summaries never depends on which file came first. A part
-- exported again replaces its row (natural key source, trace_id, part_id).
-- The key is 64 + 200 + 300 nvarchar characters (1,128 bytes), under the 1,700-byte limit of
-- a nonclustered index key; it is binary-collated like the fact tables' keys, so ids compare
-- exactly as on DuckDB and PostgreSQL.
create table etl.trace_parts (
    source      nvarchar(64) collate Latin1_General_100_BIN2    not null,
    trace_id    nvarchar(200) collate Latin1_General_100_BIN2   not null,
    part_id     nvarchar(300) collate Latin1_General_100_BIN2   not null,
    part_kind   nvarchar(16)                                     not null,
    body        nvarchar(max)                                    not null,
    _batch_id   bigint                                           not null,
    _loaded_at  datetime2(6)                                     not null,
    constraint uq_trace_parts__source__trace_id__part_id
        unique nonclustered (source, trace_id, part_id),
    constraint ck_trace_parts__part_kind
        check (part_kind in ('trace', 'span', 'feedback'))
);
