using System.Text.Json;
using Warehouse.Sources.Json;
using Warehouse.Sources.Phoenix;
using Warehouse.Traces;

namespace Warehouse.Sources.Opik;

/// <summary>
/// What Opik traces and spans share (TRACE-SOURCES §6): `usage` (prompt_tokens / completion_tokens,
/// or input_tokens / output_tokens), `total_estimated_cost`, `error_info {exception_type, message}`,
/// `metadata` and `tags` as keys, `feedback_scores[]` as feedback parts.
/// </summary>
internal static class OpikParts
{
    public const string Store = "opik";

    public static void ReadUsage(JsonElement record, TracePart part)
    {
        if (TraceJson.Property(record, "usage") is { } usage)
        {
            if (usage.ValueKind != JsonValueKind.Object)
            {
                throw new RecordProblem($"usage is {TraceJson.Shown(usage)}, not an object");
            }

            part.InputTokens = TraceJson.Count(TraceJson.Property(usage, "prompt_tokens"), "usage.prompt_tokens")
                ?? TraceJson.Count(TraceJson.Property(usage, "input_tokens"), "usage.input_tokens");
            part.OutputTokens = TraceJson.Count(TraceJson.Property(usage, "completion_tokens"), "usage.completion_tokens")
                ?? TraceJson.Count(TraceJson.Property(usage, "output_tokens"), "usage.output_tokens");
        }

        part.CostUsd = TraceJson.Number(TraceJson.Property(record, "total_estimated_cost"), "total_estimated_cost");
    }

    public static void ReadError(JsonElement record, TracePart part, TraceRules rules)
    {
        if (TraceJson.Property(record, "error_info") is not { } error)
        {
            return;
        }

        if (error.ValueKind != JsonValueKind.Object)
        {
            throw new RecordProblem($"error_info is {TraceJson.Shown(error)}, not an object");
        }

        var type = TraceJson.Text(error, "exception_type");
        var message = TraceJson.Text(error, "message");
        part.IsError = true;
        part.ErrorType = TraceJson.ErrorType(type ?? message) ?? "error";
        TraceJson.MarkJsonFailure(part, rules, type, message);
    }

    /// <summary>Keys from `metadata` (flattened as metadata.*), then `key:value` tags; `metadata.model` as the derived model.</summary>
    public static void ReadKeys(JsonElement record, TracePart part, TraceRules rules)
    {
        var pairs = new List<KeyValuePair<string, string?>>();
        if (TraceJson.Property(record, "metadata") is { } metadata)
        {
            TraceRules.Flatten(metadata, "metadata", pairs);
            if (TraceJson.Text(metadata, "model") is { } model && metadata.GetProperty("model").ValueKind == JsonValueKind.String)
            {
                part.SetKey("model_version", ModelVersions.Normalize(model), derived: true);
            }
        }

        TraceJson.TagPairs(TraceJson.Property(record, "tags"), pairs);
        rules.ApplyKeys(part, pairs);
        if (TraceJson.Property(record, "tags") is { ValueKind: JsonValueKind.Array } tags && tags.GetArrayLength() > 0)
        {
            part.SetAttribute("tags", JsonSerializer.Serialize(tags));
        }
    }

    /// <summary>
    /// The record's feedback scores, one part each: "feedback:&lt;name&gt;" on a trace,
    /// "feedback:span:&lt;span id&gt;:&lt;name&gt;" on a span. A score that cannot be read is its own reject.
    /// </summary>
    public static IEnumerable<(TracePart? Part, string? Error)> Feedback(JsonElement record, string traceId, string? spanId)
    {
        if (TraceJson.Property(record, "feedback_scores") is not { } scores)
        {
            yield break;
        }

        if (scores.ValueKind != JsonValueKind.Array)
        {
            yield return (null, $"feedback_scores is {TraceJson.Shown(scores)}, not an array");
            yield break;
        }

        var index = 0;
        foreach (var score in scores.EnumerateArray())
        {
            index++;
            TracePart? part = null;
            string? error = null;
            try
            {
                var name = TraceJson.Text(score, "name") ?? throw new RecordProblem("it has no name");
                part = new TracePart
                {
                    TraceId = traceId,
                    PartId = "feedback:" + (spanId is null ? "" : $"span:{spanId}:") + name,
                    Kind = PartKind.Feedback,
                    Name = name,
                    FeedbackName = name,
                    FeedbackScore = TraceJson.UnitScore(TraceJson.Number(TraceJson.Property(score, "value"), "value")),
                    FeedbackLabel = TraceJson.Text(score, "category_name"),
                    FeedbackComment = TraceJson.Text(score, "reason"),
                    FeedbackAt = TraceJson.Time(TraceJson.Property(score, "last_updated_at"), "last_updated_at")
                        ?? TraceJson.Time(TraceJson.Property(score, "created_at"), "created_at"),
                };
            }
            catch (RecordProblem problem)
            {
                error = $"feedback score {index}{(TraceJson.Text(score, "name") is { } named ? $" ({named})" : "")}: {problem.Message}";
            }
            catch (InvalidOperationException)
            {
                error = $"feedback score {index} is {TraceJson.Shown(score)}, not an object";
            }

            yield return (part, error);
        }
    }

    /// <summary>The user's input as text: a string input, else the first of message / input / question / query / prompt / text, else the last user message, else the JSON.</summary>
    public static string? InputPreview(JsonElement record)
    {
        if (TraceJson.Property(record, "input") is not { } input)
        {
            return null;
        }

        if (input.ValueKind == JsonValueKind.String)
        {
            return TraceJson.Preview(input.GetString());
        }

        if (input.ValueKind == JsonValueKind.Object)
        {
            foreach (var name in new[] { "message", "input", "question", "query", "prompt", "text", "user_input" })
            {
                if (TraceJson.Property(input, name) is { ValueKind: JsonValueKind.String } text)
                {
                    return TraceJson.Preview(text.GetString());
                }
            }

            if (TraceJson.Property(input, "messages") is { ValueKind: JsonValueKind.Array } messages)
            {
                var user = messages.EnumerateArray()
                    .Where(message => TraceJson.Text(message, "role") == "user")
                    .Select(message => TraceJson.Property(message, "content"))
                    .LastOrDefault(content => content is not null);
                if (user is { } content)
                {
                    return TraceJson.Preview(content.ValueKind == JsonValueKind.String ? content.GetString() : content.GetRawText());
                }
            }
        }

        return TraceJson.Preview(JsonText.Of(input));
    }

    /// <summary>Reads one record as parts with <paramref name="read"/>; a problem rejects the record with its id.</summary>
    public static IEnumerable<PartRecord> Records(IEnumerable<TraceJson.Item> items, Func<JsonElement, List<(TracePart? Part, string? Error)>> read,
        string what)
    {
        foreach (var item in items)
        {
            if (item.Error is not null)
            {
                yield return PartRecord.Reject(item.Number, item.Error, item.Raw);
                continue;
            }

            List<(TracePart? Part, string? Error)> parts;
            try
            {
                parts = read(item.Element);
            }
            catch (RecordProblem problem)
            {
                parts = [(null, (TraceJson.Text(item.Element, "id") is { } id ? $"{what} {id}: " : "") + problem.Message)];
            }

            foreach (var (part, error) in parts)
            {
                yield return part is null ? PartRecord.Reject(item.Number, error!, item.Raw) : new PartRecord(item.Number, part, item.Raw);
            }
        }
    }
}
