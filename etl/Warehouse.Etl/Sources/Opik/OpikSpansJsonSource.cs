using System.Text.Json;
using Warehouse.Sources.Phoenix;
using Warehouse.Traces;

namespace Warehouse.Sources.Opik;

/// <summary>
/// Opik spans (`search_spans`, or `GET /v1/private/spans` pages `{page, size, total, content:
/// [Span…]}`; also a bare array or JSON Lines): each span is a part "span:&lt;id&gt;" of its trace, with
/// `parent_span_id` as its parent. `type` llm → model call (its `model` is the derived model, its
/// `usage` / `total_estimated_cost` summed when no trace record covers the trace), tool → tool
/// (a tool span whose `error_info` names a JSON decode error is a tool parse failure), general /
/// guardrail → other. Span feedback scores become "feedback:span:&lt;id&gt;:&lt;name&gt;".
/// </summary>
public sealed class OpikSpansJsonSource : TracePartFormat
{
    public const string FormatName = "opik-spans-json";

    public override string Name => FormatName;

    public override string SourceName => OpikParts.Store;

    /// <summary>
    /// The first item is an Opik span: `id`, `trace_id`, `type`, `start_time` and one of Opik's own span
    /// fields (`parent_span_id`, `feedback_scores`, `total_estimated_cost`, `last_updated_by`); never a
    /// Langfuse observation (`parent_observation_id`, `level`, `usage_details`) or a LangSmith run.
    /// </summary>
    public override bool Detect(SourceFile file)
    {
        var keys = TraceJson.FirstItemKeys(file, "content");
        return keys.Contains("id") && keys.Contains("trace_id") && keys.Contains("type") && keys.Contains("start_time")
               && (keys.Contains("parent_span_id") || keys.Contains("feedback_scores") || keys.Contains("total_estimated_cost") || keys.Contains("last_updated_by"))
               && !NotOpik.Any(keys.Contains);
    }

    /// <summary>Fields of other stores' span-like records (Langfuse observations, LangSmith runs, Phoenix spans).</summary>
    internal static readonly string[] NotOpik =
        ["parent_observation_id", "level", "usage_details", "cost_details", "run_type", "dotted_order", "span_kind", "observations", "traceId"];

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken) =>
        OpikParts.Records(TraceJson.Items(file, "content", cancellationToken), span => Read(span, rules), "span");

    private static List<(TracePart? Part, string? Error)> Read(JsonElement span, TraceRules rules)
    {
        var id = TraceJson.Id(TraceJson.Property(span, "id"), "id", required: true)!.ToLowerInvariant();
        var traceId = TraceJson.Id(TraceJson.Property(span, "trace_id"), "trace_id", required: true)!.ToLowerInvariant();
        var parentId = TraceJson.Id(TraceJson.Property(span, "parent_span_id"), "parent_span_id", required: false)?.ToLowerInvariant();
        var type = TraceJson.Text(span, "type")?.Trim().ToLowerInvariant();
        var part = new TracePart
        {
            TraceId = traceId,
            PartId = "span:" + id,
            Kind = PartKind.Span,
            ParentId = parentId,
            IsRoot = parentId is null,
            Name = TraceJson.Text(span, "name"),
            Role = type switch
            {
                "llm" => SpanRole.Model,
                "tool" => SpanRole.Tool,
                _ => SpanRole.Other,
            },
            Start = TraceJson.Time(TraceJson.Property(span, "start_time"), "start_time"),
            End = TraceJson.Time(TraceJson.Property(span, "end_time"), "end_time"),
        };

        OpikParts.ReadUsage(span, part);
        OpikParts.ReadError(span, part, rules);
        if (part.Role == SpanRole.Model && TraceJson.Text(span, "model") is { } model)
        {
            part.SetKey("model_version", ModelVersions.Normalize(model), derived: true);
        }

        OpikParts.ReadKeys(span, part, rules);
        if (part.IsRoot)
        {
            part.InputPreview = OpikParts.InputPreview(span);
        }

        var parts = new List<(TracePart? Part, string? Error)> { (part, null) };
        parts.AddRange(OpikParts.Feedback(span, traceId, id).Select(pair => (pair.Part, pair.Error is null ? null : $"span {id}: {pair.Error}")));
        return parts;
    }
}
