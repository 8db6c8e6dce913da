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
        // Plain loops, not LINQ: this runs once per trace of every load (a million-span file has a quarter of a million),
        // and the iterators and closures of the LINQ version were a tenth of the load's allocations.
        var schema = TableSchema.TraceSummaries;
        var body = new List<TracePart>(parts.Count);
        var feedback = new List<TracePart>();
        var spans = new List<TracePart>(parts.Count);
        var traceRecords = new List<TracePart>();
        foreach (var part in parts)
        {
            if (part.Kind == PartKind.Feedback)
            {
                feedback.Add(part);
                continue;
            }

            body.Add(part);
            if (part.Kind == PartKind.Span)
            {
                spans.Add(part);
            }
            else if (part.Kind == PartKind.Trace)
            {
                traceRecords.Add(part);
            }
        }

        if (body.Count == 0)
        {
            return null;
        }

        var root = FindRoot(spans);
        // The trace records, the root, then the other spans by start (the part id breaks ties; a trace's part ids differ).
        var others = new List<TracePart>(spans.Count);
        foreach (var span in spans)
        {
            if (!ReferenceEquals(span, root))
            {
                others.Add(span);
            }
        }

        others.Sort(ByStartThenId);
        var ordered = new List<TracePart>(traceRecords.Count + spans.Count);
        ordered.AddRange(traceRecords);
        if (root is not null)
        {
            ordered.Add(root);
        }

        ordered.AddRange(others);

        var record = new FieldRecord(recordNumber, schema.Columns.Count);
        record.Set(schema, "source", source);
        record.Set(schema, "trace_id", traceId);

        DateTime? firstStart = null, lastEnd = null;
        foreach (var part in body)
        {
            if (part.Start is { } start && (firstStart is null || start < firstStart))
            {
                firstStart = start;
            }

            if (part.End is { } end && (lastEnd is null || end > lastEnd))
            {
                lastEnd = end;
            }
        }

        DateTime? startedAt = null;
        foreach (var part in traceRecords)
        {
            if (part.Start is not null)
            {
                startedAt = part.Start;
                break;
            }
        }

        startedAt ??= firstStart;
        // Microseconds: what every engine stores, so a re-load compares equal.
        record.Set(schema, "started_at", startedAt is { } at
            ? new DateTime(at.Ticks - at.Ticks % 10, DateTimeKind.Utc).ToString("O", CultureInfo.InvariantCulture)
            : null);

        double? latency = null;
        foreach (var part in ordered)
        {
            if (part.DurationMs is not null)
            {
                latency = part.DurationMs;
                break;
            }
        }

        if (latency is null && firstStart is { } first && lastEnd is { } last)
        {
            latency = last >= first ? (last - first).Ticks / (double)TimeSpan.TicksPerMillisecond : null;
        }

        record.Set(schema, "latency_ms", Number(latency));

        // Tokens and cost: a trace-level total wins; otherwise model calls only.
        long? coveredInput = null, coveredOutput = null;
        double? reportedCost = null;
        foreach (var part in ordered)
        {
            if (part.TotalsCoverTrace)
            {
                coveredInput ??= part.InputTokens;
                coveredOutput ??= part.OutputTokens;
                reportedCost ??= part.CostUsd;
            }
        }

        var models = new List<TracePart>(spans.Count);
        foreach (var span in spans)
        {
            if (span.Role == SpanRole.Model)
            {
                models.Add(span);
            }
        }

        record.Set(schema, "input_tokens", Count(coveredInput ?? Sum(models, part => part.InputTokens)));
        record.Set(schema, "output_tokens", Count(coveredOutput ?? Sum(models, part => part.OutputTokens)));
        var (modelCost, computed) = reportedCost is null ? SumCost(models, rules) : (null, false);
        record.Set(schema, "cost_usd", Number(reportedCost ?? modelCost));

        foreach (var column in KeyColumns)
        {
            var value = FirstKey(ordered, column, derived: false) ?? FirstKey(ordered, column, derived: true);
            if (value is not null)
            {
                record.Set(schema, column, value);
            }
        }

        string? errorType = null, sessionId = null, traceUrl = null, inputPreview = null;
        bool isError = false, jsonParse = false, toolParse = false, retrievalEmpty = false;
        foreach (var part in ordered)
        {
            if (part.IsError)
            {
                isError = true;
                errorType ??= part.ErrorType;
            }

            jsonParse |= part.JsonParseFailure;
            toolParse |= part.JsonParseFailure && part.Role == SpanRole.Tool;
            retrievalEmpty |= part.Role == SpanRole.Retrieval && part.RetrievalEmpty == true;
            sessionId ??= part.SessionId;
            traceUrl ??= part.TraceUrl;
            inputPreview ??= part.InputPreview;
        }

        if (record.Values[schema.Ordinal("session_id")] is null)
        {
            record.Set(schema, "session_id", sessionId);
        }

        record.Set(schema, "is_error", isError ? "true" : "false");
        record.Set(schema, "error_type", errorType ?? (isError ? "error" : null));
        record.Set(schema, "has_json_parse_failure", jsonParse ? "true" : "false");
        record.Set(schema, "has_tool_parse_failure", toolParse ? "true" : "false");
        record.Set(schema, "is_retrieval_empty", retrievalEmpty ? "true" : "false");
        record.Set(schema, "trace_url", traceUrl);
        record.Set(schema, "input_preview", inputPreview);

        // Feedback: user feedback (by name) gives the score; complaints come from explicit flags or thumbs-down.
        // (Most traces have none: then nothing below allocates.)
        var userFeedback = feedback.Count == 0
            ? []
            : feedback.Where(part => rules.IsUserFeedback(part.FeedbackName))
                .OrderBy(part => part.FeedbackAt ?? DateTime.MinValue).ThenBy(part => part.PartId, StringComparer.Ordinal)
                .ToList();
        var latest = userFeedback.LastOrDefault(part => part.FeedbackScore is not null);
        record.Set(schema, "feedback_score", Number(latest?.FeedbackScore));
        // A feedback record's own explicit complaint flag decides for it; without one, a thumbs-down is a complaint.
        var complaint = body.Any(part => part.Complaint == true)
            || (feedback.Count > 0 && feedback.Any(part => part.Complaint == true
                || (rules.IsComplaintName(part.FeedbackName) && (part.FeedbackScore > 0 || TraceRules.Truth(part.FeedbackLabel) == true))))
            || (userFeedback.Count > 0 && userFeedback.Any(part => part.Complaint is null
                && (part.FeedbackScore <= rules.ComplaintAtOrBelow || (part.FeedbackLabel is { } label && ThumbsDown().IsMatch(label)))));
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

        string? recordName = null;
        foreach (var part in traceRecords)
        {
            if (part.Name is not null)
            {
                recordName = part.Name;
                break;
            }
        }

        if ((recordName ?? root?.Name) is { } rootName)
        {
            attributes.TryAdd("root_name", rootName);
        }

        if ((latest?.FeedbackComment ?? (userFeedback.Count == 0 ? null : userFeedback.Select(part => part.FeedbackComment).LastOrDefault(comment => comment is not null))) is { } comment)
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

    /// <summary>The columns a part's metadata can name, in the order they are read.</summary>
    private static readonly string[] KeyColumns = TableSchema.TraceSummaries.Columns
        .Where(column => column.Role == ColumnRole.SharedKey).Select(column => column.Name)
        .Append("context_tokens").Append("session_id")
        .ToArray();

    private static string? FirstKey(List<TracePart> ordered, string column, bool derived)
    {
        foreach (var part in ordered)
        {
            if ((derived ? part.DerivedKeys : part.Keys) is { } keys && keys.TryGetValue(column, out var value) && value is not null)
            {
                return value;
            }
        }

        return null;
    }

    private static int ByStartThenId(TracePart left, TracePart right)
    {
        var byStart = (left.Start ?? DateTime.MaxValue).CompareTo(right.Start ?? DateTime.MaxValue);
        return byStart != 0 ? byStart : string.CompareOrdinal(left.PartId, right.PartId);
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

    /// <summary>
    /// The earliest span marked root; else the earliest span whose parent is not in the trace (the part id breaks
    /// ties); else the earliest span. "Earliest" keeps the first of equal starts in the list's order. Loops, not LINQ:
    /// it runs once per trace, and the LINQ version allocated sorted iterators, a set of part ids and a string per
    /// parent for every one.
    /// </summary>
    private static TracePart? FindRoot(List<TracePart> spans)
    {
        if (spans.Count == 0)
        {
            return null;
        }

        TracePart? best = null;
        foreach (var span in spans)
        {
            if (span.IsRoot && (best is null || StartOf(span) < StartOf(best)))
            {
                best = span;
            }
        }

        if (best is not null)
        {
            return best;
        }

        // A set of the part ids only for a trace of many spans; a few are compared in place.
        var ids = spans.Count > 16 ? spans.Select(span => span.PartId).ToHashSet(StringComparer.Ordinal) : null;
        foreach (var span in spans)
        {
            if ((span.ParentId is null || !HasParent(spans, ids, span)) && (best is null || ByStartThenId(span, best) < 0))
            {
                best = span;
            }
        }

        if (best is not null)
        {
            return best;
        }

        foreach (var span in spans)
        {
            if (best is null || StartOf(span) < StartOf(best))
            {
                best = span;
            }
        }

        return best;
    }

    private static DateTime StartOf(TracePart part) => part.Start ?? DateTime.MaxValue;

    /// <summary>Whether the trace has a span whose part id is the span's parent's (<see cref="SpanPartId"/>).</summary>
    private static bool HasParent(List<TracePart> spans, HashSet<string>? ids, TracePart span)
    {
        if (ids is not null)
        {
            return ids.Contains(SpanPartId(span.PartId, span.ParentId!));
        }

        // "span:abc" is the part id of parent "abc" of child "span:xyz": the child's prefix, then the parent id.
        var child = span.PartId;
        var parent = span.ParentId!;
        var prefix = child.IndexOf(':') + 1;
        foreach (var other in spans)
        {
            var id = other.PartId;
            if (id.Length == prefix + parent.Length && id.AsSpan(0, prefix).SequenceEqual(child.AsSpan(0, prefix)) && id.AsSpan(prefix).SequenceEqual(parent))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A parent id in the id space of its child's part id ("span:abc" → "span:&lt;parent&gt;").</summary>
    private static string SpanPartId(string childPartId, string parentId)
    {
        var colon = childPartId.IndexOf(':');
        return colon < 0 ? parentId : childPartId[..(colon + 1)] + parentId;
    }

    private static long? Sum(List<TracePart> parts, Func<TracePart, long?> value)
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
    private static (double? Cost, bool Computed) SumCost(List<TracePart> parts, TraceRules rules)
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
