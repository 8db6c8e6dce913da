using System.Text.Json;
using Warehouse.Traces;

namespace Warehouse.Sources.Phoenix;

/// <summary>
/// Phoenix annotations as the REST API returns them (`GET /v1/projects/{p}/trace_annotations` and
/// `span_annotations`: `{"data": [Annotation…], "next_cursor": …}`; also a bare array or JSON Lines).
/// Each annotation is a feedback part "feedback:&lt;id&gt;" of its trace: name, `result.score` (kept when
/// in 0..1), `result.label`, `result.explanation` as the comment, `updated_at` (else `created_at`) as
/// its time, and a complaint flag from its `metadata`. A span annotation names its trace only when
/// it carries `trace_id`; one that has only `span_id` is rejected (the export has no span → trace map).
/// </summary>
public sealed class PhoenixAnnotationsJsonSource : TracePartFormat
{
    public const string FormatName = "phoenix-annotations-json";

    public override string Name => FormatName;

    public override string SourceName => PhoenixSpans.Store;

    public override bool Detect(SourceFile file)
    {
        var keys = TraceJson.FirstItemKeys(file, "data");
        return keys.Contains("annotator_kind") && keys.Contains("result") && keys.Contains("name")
               && (keys.Contains("trace_id") || keys.Contains("span_id") || keys.Contains("session_id"));
    }

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        foreach (var item in TraceJson.Items(file, "data", cancellationToken))
        {
            if (item.Error is not null)
            {
                yield return PartRecord.Reject(item.Number, item.Error, item.Raw);
                continue;
            }

            TracePart? part = null;
            string? problem = null;
            try
            {
                part = Read(item.Element, rules);
            }
            catch (RecordProblem error)
            {
                problem = (TraceJson.Text(item.Element, "id") is { } id ? $"annotation {id}: " : "") + error.Message;
            }

            yield return part is null ? PartRecord.Reject(item.Number, problem!, item.Raw) : new PartRecord(item.Number, part, item.Raw);
        }
    }

    private static TracePart Read(JsonElement annotation, TraceRules rules)
    {
        var traceId = TraceJson.Id(TraceJson.Property(annotation, "trace_id"), "trace_id", required: false);
        if (traceId is null)
        {
            throw new RecordProblem(TraceJson.Property(annotation, "span_id") is not null
                ? "a span annotation without trace_id cannot be placed in its trace (export span annotations with their trace_id)"
                : TraceJson.Property(annotation, "session_id") is not null
                    ? "a session annotation belongs to no single trace"
                    : "the annotation has no trace_id");
        }

        var name = TraceJson.Text(annotation, "name") ?? throw new RecordProblem("the annotation has no name");
        var id = TraceJson.Id(TraceJson.Property(annotation, "id"), "id", required: false);
        var spanId = TraceJson.Id(TraceJson.Property(annotation, "span_id"), "span_id", required: false);
        var identifier = TraceJson.Text(annotation, "identifier");
        var result = TraceJson.Property(annotation, "result");
        if (result is { } found && found.ValueKind != JsonValueKind.Object)
        {
            throw new RecordProblem($"result is {TraceJson.Shown(found)}, not an object");
        }

        var part = new TracePart
        {
            TraceId = traceId.ToLowerInvariant(),
            // Phoenix upserts annotations by (target, name, identifier); its id names that row.
            PartId = "feedback:" + (id ?? (spanId is null ? "" : $"span:{spanId.ToLowerInvariant()}:") + name + (identifier is null ? "" : ":" + identifier)),
            Kind = PartKind.Feedback,
            Name = name,
            FeedbackName = name,
            FeedbackScore = TraceJson.UnitScore(result is { } r1 ? TraceJson.Number(TraceJson.Property(r1, "score"), "result.score") : null),
            FeedbackLabel = result is { } r2 ? TraceJson.Text(r2, "label") : null,
            FeedbackComment = result is { } r3 ? TraceJson.Text(r3, "explanation") : null,
            FeedbackAt = TraceJson.Time(TraceJson.Property(annotation, "updated_at"), "updated_at")
                ?? TraceJson.Time(TraceJson.Property(annotation, "created_at"), "created_at"),
        };

        if (TraceJson.Property(annotation, "metadata") is { ValueKind: JsonValueKind.Object } metadata)
        {
            var pairs = new List<KeyValuePair<string, string?>>();
            TraceRules.Flatten(metadata, "metadata", pairs);
            rules.ApplyKeys(part, pairs);
        }

        return part;
    }
}
