-- The parts of production traces as trace stores export them: a trace record, spans
-- (observations, runs, requests) and feedback, one row each, normalised to JSON in `body`.
-- A trace's spans arrive over several lines and files, and its feedback hours later; the
-- loader keeps every part here and rolls the trace up again from all of its parts each time
-- one arrives, so quality.trace_summaries never depends on which file came first. A part
-- exported again replaces its row (natural key source, trace_id, part_id). The unique key's
-- index also serves the roll-up's lookup of all parts of the traces a batch touched.
create table etl.trace_parts (
    source      varchar(64)   not null,
    trace_id    varchar(200)  not null,
    part_id     varchar(300)  not null,
    part_kind   varchar(16)   not null,
    body        text          not null,
    _batch_id   bigint        not null,
    _loaded_at  timestamptz   not null,
    constraint uq_trace_parts__source__trace_id__part_id
        unique (source, trace_id, part_id),
    constraint ck_trace_parts__part_kind
        check (part_kind in ('trace', 'span', 'feedback'))
);
