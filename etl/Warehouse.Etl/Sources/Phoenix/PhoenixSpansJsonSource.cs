using System.Text.Json;
using Warehouse.Traces;

namespace Warehouse.Sources.Phoenix;

/// <summary>
/// Phoenix spans as the REST API returns them (`GET /v1/projects/{p}/spans`: `{"data": [Span…],
/// "next_cursor": …}`), also a bare array of spans or JSON Lines of spans (or of pages). The data
/// array is streamed item by item; each span is one part "span:&lt;context.span_id&gt;" of its trace
/// (see <see cref="PhoenixSpans"/>), so the pages of one trace meet whichever file they came in.
/// </summary>
public sealed class PhoenixSpansJsonSource : TracePartFormat
{
    public const string FormatName = "phoenix-spans-json";

    public override string Name => FormatName;

    public override string SourceName => PhoenixSpans.Store;

    /// <summary>The first item is a span: a `context` and a `span_kind`, with `parent_id` or `attributes` (an OTLP span has neither).</summary>
    public override bool Detect(SourceFile file)
    {
        var keys = TraceJson.FirstItemKeys(file, "data");
        return keys.Contains("context") && keys.Contains("span_kind") && (keys.Contains("parent_id") || keys.Contains("attributes"));
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
                part = PhoenixSpans.Read(item.Element, rules);
            }
            catch (RecordProblem error)
            {
                problem = SpanLabel(item.Element) + error.Message;
            }

            yield return part is null ? PartRecord.Reject(item.Number, problem!, item.Raw) : new PartRecord(item.Number, part, item.Raw);
        }
    }

    /// <summary>"span &lt;id&gt;: " when the span has a readable id, for reject reasons.</summary>
    internal static string SpanLabel(JsonElement span) =>
        TraceJson.Property(span, "context") is { ValueKind: JsonValueKind.Object } context
        && TraceJson.Property(context, "span_id") is { ValueKind: JsonValueKind.String } id
            ? $"span {id.GetString()}: "
            : "";
}
