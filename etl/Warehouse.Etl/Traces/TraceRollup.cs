using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warehouse.Loading;

namespace Warehouse.Traces;

/// <summary>
/// All parts of one trace to its one trace_summaries row. The rules, the same for every store:
/// <list type="bullet">
/// <item>root: the trace record, else the span marked root, else a span whose parent is not in the trace, else the earliest.</item>
/// <item>started_at / latency_ms: the trace record's own values when it has them, else the first start and last end over all spans.</item>
/// <item>tokens and cost: a part whose totals cover the trace (trace record, root run) wins; else the sum over model-call
/// spans only, so an agent span that repeats its children's totals is never added. A model call without a reported cost
/// is priced from the store's price table when it has one (attributes.cost_source = computed).</item>
/// <item>keys: the root's metadata first, then the other parts' in start order; then keys derived from what spans are
/// (the model a model call used, a prompt's name and version).</item>
/// <item>is_error: any part in error; error_type: the root's, else the first failing span's.</item>
/// <item>has_json_parse_failure: a part whose error names a JSON decode error; has_tool_parse_failure: that part is a tool span.</item>
/// <item>is_retrieval_empty: a retrieval span that returned no documents.</item>
/// <item>feedback_score: the latest user feedback's score; has_complaint: an explicit complaint flag that is true, or
/// user feedback at or below the complaint threshold or labelled thumbs-down.</item>
/// </list>
/// A trace with only feedback so far yields no row: it waits for its spans.
/// </summary>
public static partial class TraceRollup
{
    public static FieldRecord? Build(string source, string traceId, IReadOnlyList<TracePart> parts, TraceRules rules, long recordNumber = 0)
    {
        var schema = TableSchema.TraceSummaries;
        var body = parts.Where(part => part.Kind != PartKind.Feedback).ToList();
        if (body.Count == 0)
        {
            return null;
        }

        var feedback = parts.Where(part => part.Kind == PartKind.Feedback).ToList();
        var spans = body.Where(part => part.Kind == PartKind.Span).ToList();
        var traceRecords = body.Where(part => part.Kind == PartKind.Trace).ToList();
        var root = FindRoot(spans);
        var ordered = traceRecords
            .Concat(root is null ? [] : [root])
            .Concat(spans.Where(span => !ReferenceEquals(span, root)).OrderBy(span => span.Start ?? DateTime.MaxValue).ThenBy(span => span.PartId, StringComparer.Ordinal))
            .ToList();

        var record = new FieldRecord(recordNumber, schema.Columns.Count);
        record.Set(schema, "source", source);
        record.Set(schema, "trace_id", traceId);

        var starts = body.Select(part => part.Start).OfType<DateTime>().ToList();
        var ends = body.Select(part => part.End).OfType<DateTime>().ToList();
        var startedAt = traceRecords.Select(part => part.Start).FirstOrDefault(start => start is not null)
            ?? (starts.Count > 0 ? starts.Min() : null);
        // Microseconds: what every engine stores, so a re-load compares equal.
        record.Set(schema, "started_at", startedAt is { } at
            ? new DateTime(at.Ticks - at.Ticks % 10, DateTimeKind.Utc).ToString("O", CultureInfo.InvariantCulture)
            : null);

        var latency = ordered.Select(part => part.DurationMs).OfType<double>().Cast<double?>().FirstOrDefault();
        if (latency is null && starts.Count > 0 && ends.Count > 0)
        {
            var first = starts.Min();
            var last = ends.Max();
            latency = last >= first ? (last - first).Ticks / (double)TimeSpan.TicksPerMillisecond : null;
        }

        record.Set(schema, "latency_ms", Number(latency));

        // Tokens and cost: a trace-level total wins; otherwise model calls only.
        var covering = ordered.Where(part => part.TotalsCoverTrace).ToList();
        var models = spans.Where(span => span.Role == SpanRole.Model).ToList();
        record.Set(schema, "input_tokens", Count(covering.Select(part => part.InputTokens).FirstOrDefault(value => value is not null) ?? Sum(models, part => part.InputTokens)));
        record.Set(schema, "output_tokens", Count(covering.Select(part => part.OutputTokens).FirstOrDefault(value => value is not null) ?? Sum(models, part => part.OutputTokens)));
        var reportedCost = covering.Select(part => part.CostUsd).FirstOrDefault(value => value is not null);
        var (modelCost, computed) = reportedCost is null ? SumCost(models, rules) : (null, false);
        record.Set(schema, "cost_usd", Number(reportedCost ?? modelCost));

        foreach (var column in schema.Columns.Where(column => column.Role == ColumnRole.SharedKey).Select(column => column.Name).Append("context_tokens").Append("session_id"))
        {
            var value = ordered.Select(part => part.Keys?.GetValueOrDefault(column)).FirstOrDefault(value => value is not null)
                ?? ordered.Select(part => part.DerivedKeys?.GetValueOrDefault(column)).FirstOrDefault(value => value is not null);
            if (value is not null)
            {
                record.Set(schema, column, value);
            }
        }

        if (record.Values[schema.Ordinal("session_id")] is null)
        {
            record.Set(schema, "session_id", ordered.Select(part => part.SessionId).FirstOrDefault(value => value is not null));
        }

        var failing = ordered.Where(part => part.IsError).ToList();
        record.Set(schema, "is_error", failing.Count > 0 ? "true" : "false");
        record.Set(schema, "error_type", failing.Select(part => part.ErrorType).FirstOrDefault(value => value is not null)
            ?? (failing.Count > 0 ? "error" : null));
        record.Set(schema, "has_json_parse_failure", ordered.Any(part => part.JsonParseFailure) ? "true" : "false");
        record.Set(schema, "has_tool_parse_failure", ordered.Any(part => part.JsonParseFailure && part.Role == SpanRole.Tool) ? "true" : "false");
        record.Set(schema, "is_retrieval_empty", ordered.Any(part => part.Role == SpanRole.Retrieval && part.RetrievalEmpty == true) ? "true" : "false");
        record.Set(schema, "trace_url", ordered.Select(part => part.TraceUrl).FirstOrDefault(value => value is not null));
        record.Set(schema, "input_preview", ordered.Select(part => part.InputPreview).FirstOrDefault(value => value is not null));

        // Feedback: user feedback (by name) gives the score; complaints come from explicit flags or thumbs-down.
        var userFeedback = feedback.Where(part => rules.IsUserFeedback(part.FeedbackName))
            .OrderBy(part => part.FeedbackAt ?? DateTime.MinValue).ThenBy(part => part.PartId, StringComparer.Ordinal)
            .ToList();
        var latest = userFeedback.LastOrDefault(part => part.FeedbackScore is not null);
        record.Set(schema, "feedback_score", Number(latest?.FeedbackScore));
        // A feedback record's own explicit complaint flag decides for it; without one, a thumbs-down is a complaint.
        var complaint = body.Any(part => part.Complaint == true)
            || feedback.Any(part => part.Complaint == true
                || (rules.IsComplaintName(part.FeedbackName) && (part.FeedbackScore > 0 || TraceRules.Truth(part.FeedbackLabel) == true)))
            || userFeedback.Any(part => part.Complaint is null
                && (part.FeedbackScore <= rules.ComplaintAtOrBelow || (part.FeedbackLabel is { } label && ThumbsDown().IsMatch(label))));
        record.Set(schema, "has_complaint", complaint ? "true" : "false");

        var attributes = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var part in ordered)
        {
            foreach (var (name, value) in part.Attributes ?? [])
            {
                attributes.TryAdd(name, value);
            }
        }

        attributes["span_count"] = spans.Count;
        if (computed)
        {
            attributes["cost_source"] = "computed";
        }

        if ((traceRecords.Select(part => part.Name).FirstOrDefault(name => name is not null) ?? root?.Name) is { } rootName)
        {
            attributes.TryAdd("root_name", rootName);
        }

        if ((latest?.FeedbackComment ?? userFeedback.Select(part => part.FeedbackComment).LastOrDefault(comment => comment is not null)) is { } comment)
        {
            attributes["feedback_comment"] = comment;
        }

        if (feedback.Count > 0)
        {
            attributes["feedback"] = feedback
                .OrderBy(part => part.FeedbackAt ?? DateTime.MinValue).ThenBy(part => part.PartId, StringComparer.Ordinal)
                .Select(FeedbackEntry)
                .ToList();
        }

        record.Set(schema, "attributes", JsonSerializer.Serialize(attributes, AttributeJson));
        record.AttributesAreSerialized = true;
        return record;
    }

    private static readonly JsonSerializerOptions AttributeJson = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>One feedback record as the row's attributes list it: only what it has (no nulls).</summary>
    private static SortedDictionary<string, object> FeedbackEntry(TracePart part)
    {
        var entry = new SortedDictionary<string, object>(StringComparer.Ordinal);
        if (part.FeedbackName is { } name)
        {
            entry["name"] = name;
        }

        if (part.FeedbackScore is { } score)
        {
            entry["score"] = score;
        }

        if (part.FeedbackLabel is { } label)
        {
            entry["label"] = label;
        }

        return entry;
    }

    private static TracePart? FindRoot(List<TracePart> spans)
    {
        if (spans.Count == 0)
        {
            return null;
        }

        var ids = spans.Select(span => span.PartId).ToHashSet(StringComparer.Ordinal);
        return spans.Where(span => span.IsRoot).OrderBy(span => span.Start ?? DateTime.MaxValue).FirstOrDefault()
            ?? spans.Where(span => span.ParentId is null || !ids.Contains(SpanPartId(span.PartId, span.ParentId)))
                .OrderBy(span => span.Start ?? DateTime.MaxValue).ThenBy(span => span.PartId, StringComparer.Ordinal).FirstOrDefault()
            ?? spans.OrderBy(span => span.Start ?? DateTime.MaxValue).First();
    }

    /// <summary>A parent id in the id space of its child's part id ("span:abc" → "span:&lt;parent&gt;").</summary>
    private static string SpanPartId(string childPartId, string parentId)
    {
        var colon = childPartId.IndexOf(':');
        return colon < 0 ? parentId : childPartId[..(colon + 1)] + parentId;
    }

    private static long? Sum(IEnumerable<TracePart> parts, Func<TracePart, long?> value)
    {
        long? total = null;
        foreach (var part in parts)
        {
            if (value(part) is { } count)
            {
                total = (total ?? 0) + count;
            }
        }

        return total;
    }

    /// <summary>
    /// The model calls' cost: reported where a call has one, else from the price table; summed as
    /// decimals so 0.1 + 0.2 reads as 0.3 on every engine. Says whether any of it was computed.
    /// </summary>
    private static (double? Cost, bool Computed) SumCost(IEnumerable<TracePart> parts, TraceRules rules)
    {
        decimal? total = null;
        var computed = false;
        foreach (var part in parts)
        {
            if (part.CostUsd is { } cost)
            {
                total = (total ?? 0m) + (decimal)cost;
            }
            else if (rules.ComputedCost(part.Model ?? part.DerivedKeys?.GetValueOrDefault("model_version"), part.InputTokens, part.OutputTokens) is { } price)
            {
                total = (total ?? 0m) + price;
                computed = true;
            }
        }

        return (total is null ? null : (double)total.Value, computed);
    }

    private static string? Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture);

    private static string? Count(long? value) => value?.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"thumbs?[\s_-]*down|negative|^bad$|^no$|👎", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ThumbsDown();
}
