using System.Text.Json;
using Warehouse.Sources.Json;
using Warehouse.Traces;

namespace Warehouse.Sources.Phoenix;

/// <summary>
/// One Phoenix span (the REST `Span` model: `context.trace_id/span_id`, `span_kind`, `parent_id`,
/// `start_time`, `end_time`, `status_code`, `status_message`, flat dotted `attributes`, `events`)
/// as a trace part "span:&lt;span_id&gt;". The Parquet trace dataset builds the same object from its
/// columns, so both read by these rules. OpenInference attributes (TRACE-SOURCES §2):
/// <list type="bullet">
/// <item>Role: span_kind LLM → model call, TOOL → tool, RETRIEVER → retrieval, AGENT → agent, else other.</item>
/// <item>Tokens `llm.token_count.prompt/completion`, cost `llm.cost.total` (else prompt + completion cost).</item>
/// <item>Model (derived, model calls only): `llm.response.model_name`, else `llm.model_name`.
/// Prompt version (derived): `llm.prompt_template.version` (a `prompt_version` in the metadata wins).</item>
/// <item>Error: status_code ERROR or an `exception` event; type from the event's `exception.type`, else the status message.</item>
/// <item>Empty retrieval: a RETRIEVER span without `retrieval.documents.*` attributes.</item>
/// <item>Keys: `metadata.*` (flat keys, or a `metadata` JSON string), then the other attributes.</item>
/// </list>
/// </summary>
internal static class PhoenixSpans
{
    public const string Store = "phoenix";

    public static TracePart Read(JsonElement span, TraceRules rules)
    {
        var context = TraceJson.Property(span, "context");
        if (context is { } found && found.ValueKind != JsonValueKind.Object)
        {
            throw new RecordProblem($"context is {TraceJson.Shown(found)}, not an object");
        }

        var traceId = TraceJson.Id(context is { } c1 ? TraceJson.Property(c1, "trace_id") : TraceJson.Property(span, "trace_id"), "context.trace_id", required: true)!;
        var spanId = TraceJson.Id(context is { } c2 ? TraceJson.Property(c2, "span_id") : TraceJson.Property(span, "span_id"), "context.span_id", required: true)!;
        var parentId = TraceJson.Id(TraceJson.Property(span, "parent_id"), "parent_id", required: false);

        var attributes = Attributes(span);
        var kind = (TraceJson.Text(span, "span_kind") ?? Scalar(attributes, "openinference.span.kind"))?.Trim().ToUpperInvariant();
        var part = new TracePart
        {
            TraceId = traceId.ToLowerInvariant(),
            PartId = "span:" + spanId.ToLowerInvariant(),
            Kind = PartKind.Span,
            ParentId = parentId?.ToLowerInvariant(),
            IsRoot = parentId is null,
            Name = TraceJson.Text(span, "name"),
            Role = kind switch
            {
                "LLM" => SpanRole.Model,
                "TOOL" => SpanRole.Tool,
                "RETRIEVER" => SpanRole.Retrieval,
                "AGENT" => SpanRole.Agent,
                _ => SpanRole.Other,
            },
            Start = TraceJson.Time(TraceJson.Property(span, "start_time"), "start_time"),
            End = TraceJson.Time(TraceJson.Property(span, "end_time"), "end_time"),
        };

        // Tokens and cost (the roll-up sums them over model calls only).
        part.InputTokens = TraceJson.Count(Value(attributes, "llm.token_count.prompt"), "llm.token_count.prompt");
        part.OutputTokens = TraceJson.Count(Value(attributes, "llm.token_count.completion"), "llm.token_count.completion");
        part.CostUsd = TraceJson.Number(Value(attributes, "llm.cost.total"), "llm.cost.total");
        if (part.CostUsd is null)
        {
            var prompt = TraceJson.Number(Value(attributes, "llm.cost.prompt"), "llm.cost.prompt");
            var completion = TraceJson.Number(Value(attributes, "llm.cost.completion"), "llm.cost.completion");
            part.CostUsd = prompt is null && completion is null ? null : (double)((decimal)(prompt ?? 0) + (decimal)(completion ?? 0));
        }

        if (part.Role == SpanRole.Model
            && (Scalar(attributes, "llm.response.model_name") ?? Scalar(attributes, "llm.model_name")) is { } model)
        {
            part.SetKey("model_version", ModelVersions.Normalize(model), derived: true);
        }

        part.SetKey("prompt_version", Scalar(attributes, "llm.prompt_template.version"), derived: true);

        // Errors: the status, or an exception event.
        var exception = ExceptionEvent(span);
        var statusCode = TraceJson.Text(span, "status_code")?.Trim().ToUpperInvariant();
        var statusMessage = TraceJson.Text(span, "status_message");
        if (statusCode == "ERROR" || exception is not null)
        {
            part.IsError = true;
            var exceptionType = exception is { } e1 ? EventAttribute(e1, "exception.type") : null;
            var exceptionMessage = exception is { } e2 ? EventAttribute(e2, "exception.message") : null;
            part.ErrorType = TraceJson.ErrorType(exceptionType ?? statusMessage ?? exceptionMessage);
            TraceJson.MarkJsonFailure(part, rules, exceptionType, statusMessage, exceptionMessage);
        }

        if (part.Role == SpanRole.Retrieval)
        {
            part.RetrievalEmpty = !attributes.Any(pair => pair.Key.StartsWith("retrieval.documents.", StringComparison.Ordinal)
                || (pair.Key == "retrieval.documents" && pair.Value.ValueKind == JsonValueKind.Array && pair.Value.GetArrayLength() > 0));
        }

        // Keys: the metadata first, then the rest of the attributes.
        var pairs = new List<KeyValuePair<string, string?>>();
        foreach (var (name, value) in attributes)
        {
            if (name.StartsWith("metadata.", StringComparison.Ordinal))
            {
                pairs.Add(new(name, JsonText.Of(value)));
            }
        }

        foreach (var (name, value) in attributes)
        {
            if (!name.StartsWith("metadata.", StringComparison.Ordinal) && value.ValueKind != JsonValueKind.Array)
            {
                pairs.Add(new(name, JsonText.Of(value)));
            }
        }

        rules.ApplyKeys(part, pairs);

        part.SessionId = Scalar(attributes, "session.id");
        if (part.IsRoot)
        {
            part.InputPreview = TraceJson.Preview(Scalar(attributes, "input.value"));
            part.SetAttribute("user_id", Scalar(attributes, "user.id"));
            if (Value(attributes, "tag.tags") is { ValueKind: JsonValueKind.Array } tags && tags.GetArrayLength() > 0)
            {
                part.SetAttribute("tags", JsonSerializer.Serialize(tags));
            }
        }

        return part;
    }

    /// <summary>
    /// The span's attributes as flat dotted names: REST's flat keys as they are, nested objects (a
    /// DataFrame's `metadata` dict, unflattened exports) flattened, and a `metadata` JSON string parsed.
    /// </summary>
    public static List<KeyValuePair<string, JsonElement>> Attributes(JsonElement span)
    {
        var flat = new List<KeyValuePair<string, JsonElement>>();
        if (TraceJson.Property(span, "attributes") is not { } attributes)
        {
            return flat;
        }

        if (attributes.ValueKind != JsonValueKind.Object)
        {
            throw new RecordProblem($"attributes is {TraceJson.Shown(attributes)}, not an object");
        }

        foreach (var property in attributes.EnumerateObject())
        {
            if (property.Name == "metadata" && property.Value.ValueKind == JsonValueKind.String
                && property.Value.GetString() is { } text && text.TrimStart().StartsWith('{'))
            {
                try
                {
                    using var document = JsonDocument.Parse(text);
                    TraceJson.FlattenValues(document.RootElement.Clone(), "metadata", flat);
                    continue;
                }
                catch (JsonException)
                {
                    // Not JSON after all: kept as the text it is.
                }
            }

            TraceJson.FlattenValues(property.Value, property.Name, flat);
        }

        return flat;
    }

    private static JsonElement? Value(List<KeyValuePair<string, JsonElement>> attributes, string name)
    {
        foreach (var (key, value) in attributes)
        {
            if (key == name && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
            {
                return value;
            }
        }

        return null;
    }

    private static string? Scalar(List<KeyValuePair<string, JsonElement>> attributes, string name) =>
        Value(attributes, name) is { } value ? JsonText.Of(value) : null;

    /// <summary>The span's first `exception` event.</summary>
    private static JsonElement? ExceptionEvent(JsonElement span)
    {
        if (TraceJson.Property(span, "events") is not { } events)
        {
            return null;
        }

        if (events.ValueKind != JsonValueKind.Array)
        {
            throw new RecordProblem($"events is {TraceJson.Shown(events)}, not an array");
        }

        foreach (var item in events.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Object && string.Equals(TraceJson.Text(item, "name"), "exception", StringComparison.OrdinalIgnoreCase))
            {
                return item;
            }
        }

        return null;
    }

    private static string? EventAttribute(JsonElement exceptionEvent, string name)
    {
        if (TraceJson.Property(exceptionEvent, "attributes") is { ValueKind: JsonValueKind.Object } attributes)
        {
            var flat = new List<KeyValuePair<string, JsonElement>>();
            TraceJson.FlattenValues(attributes, "", flat);
            return flat.Where(pair => pair.Key == name).Select(pair => JsonText.Of(pair.Value)).FirstOrDefault(value => value is not null);
        }

        return null;
    }
}
