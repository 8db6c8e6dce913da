using System.Text.Json;
using Warehouse.Sources.Phoenix;
using Warehouse.Traces;

namespace Warehouse.Sources.Opik;

/// <summary>
/// Opik traces as the REST API pages them (`GET /v1/private/traces`: `{page, size, total, content:
/// [Trace…]}`), also a bare array of traces or JSON Lines of traces (or of pages), as
/// `search_traces` results are saved. Each trace is one trace part ("trace"): start / end, `duration`
/// (ms), the aggregated `usage` and `total_estimated_cost` (they cover the whole trace),
/// `error_info`, `metadata` / `tags` keys, `thread_id` as the session and the input's text; each
/// `feedback_scores[]` entry is a feedback part "feedback:&lt;name&gt;".
/// </summary>
public sealed class OpikTracesJsonSource : TracePartFormat
{
    public const string FormatName = "opik-traces-json";

    public override string Name => FormatName;

    public override string SourceName => OpikParts.Store;

    /// <summary>The first item is an Opik trace: `id`, `project_id`, `start_time` and a trace-only field; never a span (`trace_id`).</summary>
    public override bool Detect(SourceFile file)
    {
        var keys = TraceJson.FirstItemKeys(file, "content");
        return keys.Contains("id") && keys.Contains("project_id") && keys.Contains("start_time") && !keys.Contains("trace_id")
               && !OpikSpansJsonSource.NotOpik.Any(keys.Contains)
               && (keys.Contains("thread_id") || keys.Contains("span_count") || keys.Contains("llm_span_count") || keys.Contains("feedback_scores")
                   || keys.Contains("total_estimated_cost") || keys.Contains("duration"));
    }

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken) =>
        OpikParts.Records(TraceJson.Items(file, "content", cancellationToken), trace => Read(trace, rules), "trace");

    private static List<(TracePart? Part, string? Error)> Read(JsonElement trace, TraceRules rules)
    {
        var id = TraceJson.Id(TraceJson.Property(trace, "id"), "id", required: true)!.ToLowerInvariant();
        var part = new TracePart
        {
            TraceId = id,
            PartId = "trace",
            Kind = PartKind.Trace,
            IsRoot = true,
            Name = TraceJson.Text(trace, "name"),
            Start = TraceJson.Time(TraceJson.Property(trace, "start_time"), "start_time"),
            End = TraceJson.Time(TraceJson.Property(trace, "end_time"), "end_time"),
            DurationMs = TraceJson.Number(TraceJson.Property(trace, "duration"), "duration"),
            SessionId = TraceJson.Text(trace, "thread_id"),
            InputPreview = OpikParts.InputPreview(trace),
        };

        OpikParts.ReadUsage(trace, part);
        part.TotalsCoverTrace = part.InputTokens is not null || part.OutputTokens is not null || part.CostUsd is not null;
        OpikParts.ReadError(trace, part, rules);
        OpikParts.ReadKeys(trace, part, rules);
        part.SetAttribute("project_id", TraceJson.Text(trace, "project_id"));
        part.SetAttribute("span_count", TraceJson.Text(trace, "span_count"));
        part.SetAttribute("llm_span_count", TraceJson.Text(trace, "llm_span_count"));
        if (TraceJson.Time(TraceJson.Property(trace, "last_updated_at"), "last_updated_at") is { } updated)
        {
            part.SetAttribute("source_updated_at", updated.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        }

        var parts = new List<(TracePart? Part, string? Error)> { (part, null) };
        parts.AddRange(OpikParts.Feedback(trace, id, spanId: null).Select(pair => (pair.Part, pair.Error is null ? null : $"trace {id}: {pair.Error}")));
        return parts;
    }
}
