using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warehouse.Sources.Json;
using Warehouse.Traces;
using static Warehouse.Sources.Langfuse.LangfuseValues;

namespace Warehouse.Sources.Langfuse;

/// <summary>
/// Langfuse records to trace parts, the same for every Langfuse export (public API, UI export,
/// blob-storage export in any container), so the parts of one trace meet whichever export brought
/// them: the trace record is part "trace", an observation "span:&lt;observation id&gt;", a score
/// "feedback:&lt;score id&gt;" (the UI traces table, which has only per-trace score averages,
/// "feedback:&lt;score name&gt;"). Field names are read in both spellings (camelCase from the API and
/// UI, snake_case from ClickHouse). Rules (TRACE-SOURCES §3):
/// <list type="bullet">
/// <item>Trace: `latency` is seconds (→ ms; -1 = not computed, ignored); `totalCost` covers the
/// trace (-1 ignored); keys from `metadata`, then `tags` written `key:value`, `release`, `version`.</item>
/// <item>Observation: GENERATION/EMBEDDING are model calls, TOOL, RETRIEVER, AGENT by type; level
/// ERROR is an error whose type is the status message's exception name, else the message (a JSON
/// parse failure when it names one); level WARNING with a JSON error in its message is a handled
/// parse failure that does not make the trace an error; a RETRIEVER whose output holds no documents (or whose metadata counts 0) is an empty retrieval;
/// `promptName` + integer `promptVersion` → prompt_version `name-vN`, `model` → model_version
/// (both derived, so metadata that names them wins; embeddings name no model_version).</item>
/// <item>Tokens: `usageDetails` keys containing "input" / "output" summed (Langfuse's own reducer),
/// total keys left out; when a `total` shows the detail keys are subsets of `input` / `output`
/// (input + output == total while the sum of all keys exceeds it), `input` / `output` alone.</item>
/// <item>Score: BOOLEAN 1/0, NUMERIC in 0..1 as the score (other scales as the label),
/// CATEGORICAL as the label; `comment` kept.</item>
/// </list>
/// </summary>
internal static partial class LangfuseParts
{
    public const int MaxPreview = 2000;

    private static readonly string[] PreviewFields = ["message", "content", "input", "query", "question", "text", "prompt", "user_input"];

    // ---------- traces ----------

    /// <summary>A trace record (API trace, blob traces row, UI traces-table row) as the trace part.</summary>
    public static TracePart Trace(JsonElement trace, TraceRules rules, SourceFile file, bool latencyInSeconds = true)
    {
        var id = Text(trace, "id") ?? throw new LangfuseRecordException("the trace has no id");
        var part = new TracePart
        {
            TraceId = id,
            PartId = "trace",
            Kind = PartKind.Trace,
            Name = Text(trace, "name"),
            Start = Time(trace, "timestamp", "timestamp"),
            SessionId = Text(trace, "sessionId", "session_id"),
        };

        if (Decimal(trace, "latency", "latency") is { } latency && latency >= 0)
        {
            part.DurationMs = (double)(latencyInSeconds ? latency * 1000m : latency);
        }

        if (Decimal(trace, "totalCost", "totalCost", "total_cost") is { } cost && cost >= 0)
        {
            part.CostUsd = (double)cost;
            part.TotalsCoverTrace = true;
        }

        if (Count(trace, "inputTokens", "inputTokens", "input_tokens", "inputUsage", "input_usage") is { } input)
        {
            part.InputTokens = input;
            part.TotalsCoverTrace = true;
        }

        if (Count(trace, "outputTokens", "outputTokens", "output_tokens", "outputUsage", "output_usage") is { } output)
        {
            part.OutputTokens = output;
            part.TotalsCoverTrace = true;
        }

        part.TraceUrl = TraceUrl(trace, id, file);
        part.InputPreview = Preview(Field(trace, "input"));

        var pairs = new List<KeyValuePair<string, string?>>();
        if (Field(trace, "metadata") is { } metadata)
        {
            TraceRules.Flatten(metadata, "metadata", pairs);
        }

        var tags = Tags(trace, "tags");
        AddTraceContext(pairs, tags, Text(trace, "release"), Text(trace, "version"), Text(trace, "environment"), Text(trace, "userId", "user_id"));
        rules.ApplyKeys(part, pairs);

        part.SetAttribute("user_id", Text(trace, "userId", "user_id"));
        part.SetAttribute("environment", Text(trace, "environment"));
        part.SetAttribute("release", Text(trace, "release"));
        part.SetAttribute("version", Text(trace, "version"));
        part.SetAttribute("tags", tags.Count > 0 ? string.Join(",", tags) : null);
        return part;
    }

    private static void AddTraceContext(List<KeyValuePair<string, string?>> pairs, List<string> tags, string? release, string? version,
        string? environment, string? userId)
    {
        foreach (var tag in tags)
        {
            var separator = tag.IndexOfAny([':', '=']);
            if (separator > 0 && separator < tag.Length - 1)
            {
                pairs.Add(new("tags." + tag[..separator].Trim(), tag[(separator + 1)..].Trim()));
            }
        }

        pairs.Add(new("release", release));
        pairs.Add(new("version", version));
        pairs.Add(new("environment", environment));
        pairs.Add(new("user_id", userId));
    }

    /// <summary>The trace's page: the API's htmlPath, or the same path built from the blob row's project id; `Sources:langfuse:BaseUrl` prefixes it.</summary>
    private static string? TraceUrl(JsonElement trace, string id, SourceFile file)
    {
        var path = Text(trace, "htmlPath", "html_path");
        if (path is null && Text(trace, "projectId", "project_id") is { } project)
        {
            path = $"/project/{project}/traces/{id}";
        }

        if (path is null)
        {
            return null;
        }

        var baseUrl = file.Settings.Option(LangfuseApiJsonlSource.Tool, "BaseUrl")?.TrimEnd('/');
        return string.IsNullOrEmpty(baseUrl) || path.StartsWith("http", StringComparison.OrdinalIgnoreCase) ? path : baseUrl + path;
    }

    public static List<string> Tags(JsonElement record, params string[] names)
    {
        var tags = new List<string>();
        if (Structured(record, names) is { ValueKind: JsonValueKind.Array } array)
        {
            foreach (var tag in array.EnumerateArray())
            {
                if (JsonText.Of(tag) is { } text && text.Trim().Length > 0)
                {
                    tags.Add(text.Trim());
                }
            }
        }
        else if (Field(record, names) is { ValueKind: JsonValueKind.String } single && single.GetString() is { } text && text.Trim().Length > 0)
        {
            tags.AddRange(text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        return tags;
    }

    // ---------- observations ----------

    /// <summary>An observation (API observation, blob observations / observations_v2 row, UI observations row) as a span part.</summary>
    public static TracePart Observation(JsonElement observation, TraceRules rules, string? traceId = null, bool withTraceContext = false)
    {
        var id = Text(observation, "id") ?? throw new LangfuseRecordException("the observation has no id");
        var ownTrace = Text(observation, "traceId", "trace_id") ?? traceId
            ?? throw new LangfuseRecordException($"observation {id} has no trace id");
        var type = Text(observation, "type")?.ToUpperInvariant();
        var parent = Text(observation, "parentObservationId", "parent_observation_id", "parent_span_id");
        var part = new TracePart
        {
            TraceId = ownTrace,
            PartId = "span:" + id,
            Kind = PartKind.Span,
            ParentId = parent,
            IsRoot = Flag(observation, "isRootObservation", "is_root_observation") ?? parent is null,
            Name = Text(observation, "name"),
            Role = type switch
            {
                "GENERATION" or "EMBEDDING" => SpanRole.Model,
                "TOOL" => SpanRole.Tool,
                "RETRIEVER" => SpanRole.Retrieval,
                "AGENT" => SpanRole.Agent,
                _ => SpanRole.Other,
            },
            Start = Time(observation, "startTime", "startTime", "start_time"),
            End = Time(observation, "endTime", "endTime", "end_time"),
        };

        if (part.End < part.Start)
        {
            throw new LangfuseRecordException($"observation {id} ends ({part.End:O}) before it starts ({part.Start:O})");
        }

        if (Text(observation, "model", "providedModelName", "provided_model_name") is { } model)
        {
            part.Model = ModelVersions.Normalize(model);
        }

        (part.InputTokens, part.OutputTokens) = Tokens(observation, id);
        part.CostUsd = ToDouble(Cost(observation, id));

        var level = Text(observation, "level")?.ToUpperInvariant();
        var status = Text(observation, "statusMessage", "status_message");
        if (level == "ERROR")
        {
            part.IsError = true;
            part.ErrorType = ErrorType(status);
            part.JsonParseFailure = rules.IsJsonParseError(part.ErrorType) || rules.IsJsonParseError(status);
        }
        else if (level == "WARNING")
        {
            // A handled failure (the agent retried): a JSON parse failure without making the trace an error.
            part.JsonParseFailure = rules.IsJsonParseError(status);
        }

        var metadata = Field(observation, "metadata");
        var metadataPairs = new List<KeyValuePair<string, string?>>();
        if (metadata is { } bag)
        {
            TraceRules.Flatten(bag, "metadata", metadataPairs);
        }

        if (part.Role == SpanRole.Retrieval)
        {
            part.RetrievalEmpty = NoDocuments(Field(observation, "output")) ?? CountSaysEmpty(metadataPairs);
        }

        var pairs = new List<KeyValuePair<string, string?>>(metadataPairs);
        if (withTraceContext)
        {
            // observations_v2 (Langfuse v4 events): each row carries its trace's user, session, tags and release.
            var tags = Tags(observation, "tags", "traceTags", "trace_tags");
            AddTraceContext(pairs, tags, Text(observation, "release"), null, Text(observation, "environment"), Text(observation, "userId", "user_id"));
            part.SessionId = Text(observation, "sessionId", "session_id");
            if (part.IsRoot)
            {
                part.InputPreview = Preview(Field(observation, "input"));
                part.SetAttribute("user_id", Text(observation, "userId", "user_id"));
                part.SetAttribute("environment", Text(observation, "environment"));
                part.SetAttribute("release", Text(observation, "release"));
                part.SetAttribute("tags", tags.Count > 0 ? string.Join(",", tags) : null);
            }
        }

        rules.ApplyKeys(part, pairs);

        // The model a trace used is its generations' (an embedding call's model is no model_version).
        if (type == "GENERATION" && part.Model is { } modelVersion)
        {
            part.SetKey("model_version", modelVersion, derived: true);
        }

        if (Text(observation, "promptName", "prompt_name") is { } promptName && Field(observation, "promptVersion", "prompt_version") is { } rawVersion)
        {
            var version = Decimal(rawVersion, $"observation {id} promptVersion");
            if (version is { } number && number == decimal.Truncate(number) && number >= 0)
            {
                part.SetKey("prompt_version", $"{promptName}-v{number.ToString("0", CultureInfo.InvariantCulture)}", derived: true);
            }
        }

        return part;
    }

    /// <summary>
    /// (input, output) tokens from usageDetails (or the deprecated usage object, or the UI export's
    /// inputUsage/outputUsage). Langfuse sums the keys that contain "input" / "output" and takes
    /// "total" as is; detail keys (input_cached_tokens, output_reasoning_tokens) are then disjoint
    /// parts. When a total shows they are subsets of input / output instead, only input / output count.
    /// </summary>
    private static (long? Input, long? Output) Tokens(JsonElement observation, string id)
    {
        if (Structured(observation, "usageDetails", "usage_details") is { ValueKind: JsonValueKind.Object } details && details.EnumerateObject().Any())
        {
            decimal? inputSum = null, outputSum = null, plainInput = null, plainOutput = null, total = null, all = 0;
            foreach (var property in details.EnumerateObject())
            {
                var name = property.Name.ToLowerInvariant();
                var value = Decimal(property.Value, $"observation {id} usageDetails.{property.Name}");
                if (value is not { } count)
                {
                    continue;
                }

                if (name.Contains("total", StringComparison.Ordinal))
                {
                    if (name == "total")
                    {
                        total = count;
                    }

                    continue;
                }

                all += count;
                if (name.Contains("input", StringComparison.Ordinal))
                {
                    inputSum = (inputSum ?? 0) + count;
                    if (name == "input")
                    {
                        plainInput = count;
                    }
                }
                else if (name.Contains("output", StringComparison.Ordinal))
                {
                    outputSum = (outputSum ?? 0) + count;
                    if (name == "output")
                    {
                        plainOutput = count;
                    }
                }
            }

            if (total is { } sum && all > sum && (plainInput ?? 0) + (plainOutput ?? 0) == sum)
            {
                (inputSum, outputSum) = (plainInput, plainOutput);
            }

            return (inputSum is { } i ? ToCount(i, $"observation {id} input tokens") : null,
                outputSum is { } o ? ToCount(o, $"observation {id} output tokens") : null);
        }

        if (Structured(observation, "usage") is { ValueKind: JsonValueKind.Object } usage)
        {
            return (Count(usage, $"observation {id} usage.input", "input", "promptTokens"),
                Count(usage, $"observation {id} usage.output", "output", "completionTokens"));
        }

        return (Count(observation, $"observation {id} inputUsage", "inputUsage", "input_usage"),
            Count(observation, $"observation {id} outputUsage", "outputUsage", "output_usage"));
    }

    /// <summary>costDetails.total, else the sum of its other keys, else totalCost / calculatedTotalCost.</summary>
    private static decimal? Cost(JsonElement observation, string id)
    {
        if (Structured(observation, "costDetails", "cost_details") is { ValueKind: JsonValueKind.Object } details && details.EnumerateObject().Any())
        {
            decimal? total = null, sum = null;
            foreach (var property in details.EnumerateObject())
            {
                var value = Decimal(property.Value, $"observation {id} costDetails.{property.Name}");
                if (value is not { } amount)
                {
                    continue;
                }

                if (property.Name.Equals("total", StringComparison.OrdinalIgnoreCase))
                {
                    total = amount;
                }
                else if (!property.Name.Contains("total", StringComparison.OrdinalIgnoreCase))
                {
                    sum = (sum ?? 0) + amount;
                }
            }

            if ((total ?? sum) is { } cost)
            {
                return cost;
            }
        }

        return Decimal(observation, $"observation {id} totalCost", "totalCost", "total_cost", "calculatedTotalCost", "calculated_total_cost");
    }

    /// <summary>The exception name that opens a status message (`JSONDecodeError: Expecting value…`), else the message, at most 200 characters.</summary>
    public static string ErrorType(string? status)
    {
        if (string.IsNullOrWhiteSpace(status))
        {
            return "ERROR";
        }

        var match = ExceptionName().Match(status);
        var type = match.Success ? match.Groups[1].Value : status.Trim();
        return type.Length <= 200 ? type : type[..200];
    }

    [GeneratedRegex(@"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Failure|Timeout|Fault))\b", RegexOptions.CultureInvariant)]
    private static partial Regex ExceptionName();

    /// <summary>True when a retriever's output holds no documents; null when the output says nothing either way.</summary>
    private static bool? NoDocuments(JsonElement? output)
    {
        if (output is not { } value)
        {
            return null;
        }

        var structured = Structured(value) ?? value;
        switch (structured.ValueKind)
        {
            case JsonValueKind.Array:
                return structured.GetArrayLength() == 0;
            case JsonValueKind.Object:
                foreach (var name in new[] { "documents", "docs", "results", "hits", "chunks", "nodes", "matches", "items", "output" })
                {
                    if (structured.TryGetProperty(name, out var list))
                    {
                        if (list.ValueKind == JsonValueKind.Array)
                        {
                            return list.GetArrayLength() == 0;
                        }

                        if (list.ValueKind == JsonValueKind.Null)
                        {
                            return true;
                        }
                    }
                }

                return null;
            case JsonValueKind.String:
                return string.IsNullOrWhiteSpace(structured.GetString()) ? true : null;
            default:
                return null;
        }
    }

    private static bool? CountSaysEmpty(List<KeyValuePair<string, string?>> metadata)
    {
        foreach (var (name, value) in metadata)
        {
            var normalized = TraceRules.Normalize(name);
            if ((normalized.EndsWith("document_count", StringComparison.Ordinal) || normalized.EndsWith("retrieved_docs", StringComparison.Ordinal)
                 || normalized.EndsWith("num_documents", StringComparison.Ordinal) || normalized.EndsWith("doc_count", StringComparison.Ordinal))
                && decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var count))
            {
                return count == 0;
            }
        }

        return null;
    }

    // ---------- scores ----------

    /// <summary>A score (API ScoreV1/v2/v3, blob scores row) as a feedback part; null for a score of a session or dataset run (no trace).</summary>
    public static TracePart? Score(JsonElement score, TraceRules rules, string? traceId = null)
    {
        var id = Text(score, "id") ?? throw new LangfuseRecordException("the score has no id");
        var subject = Field(score, "subject") is { ValueKind: JsonValueKind.Object } s ? s : (JsonElement?)null;
        var ownTrace = Text(score, "traceId", "trace_id") ?? traceId
            ?? (subject is { } subj ? Text(subj, "traceId", "trace_id") ?? (Text(subj, "kind")?.ToLowerInvariant() == "trace" ? Text(subj, "id") : null) : null);
        if (ownTrace is null)
        {
            return null;
        }

        var name = Text(score, "name") ?? throw new LangfuseRecordException($"score {id} has no name");
        var part = new TracePart
        {
            TraceId = ownTrace,
            PartId = "feedback:" + id,
            Kind = PartKind.Feedback,
            FeedbackName = name,
            FeedbackAt = Time(score, $"score {id} timestamp", "timestamp", "createdAt", "created_at"),
            FeedbackComment = Text(score, "comment"),
        };

        var dataType = Text(score, "dataType", "data_type")?.ToUpperInvariant();
        var label = Text(score, "stringValue", "string_value");
        var raw = Field(score, "value");
        if (raw is { ValueKind: JsonValueKind.String } && dataType is null or "CATEGORICAL" or "TEXT" or "CORRECTION")
        {
            // v3 scores: a categorical or text value is the label itself.
            label ??= JsonText.Of(raw.Value);
            raw = null;
        }

        var value = raw is { } number ? Decimal(number, $"score {id} value") : null;
        switch (dataType)
        {
            case "BOOLEAN":
                part.FeedbackScore = value is { } flag ? (flag != 0 ? 1 : 0) : TraceRules.Truth(label) is { } truth ? (truth ? 1 : 0) : null;
                break;
            case "CATEGORICAL":
                part.FeedbackLabel = label;
                break;
            case "TEXT" or "CORRECTION":
                part.FeedbackComment ??= label;
                break;
            default:
                if (value is { } numeric)
                {
                    if (numeric is >= 0 and <= 1)
                    {
                        part.FeedbackScore = (double)numeric;
                    }
                    else
                    {
                        part.FeedbackLabel = numeric.ToString(CultureInfo.InvariantCulture);
                    }
                }
                else
                {
                    part.FeedbackLabel = label;
                }

                break;
        }

        // A complaint flag in the score's metadata counts; its other metadata is no trace key.
        if (Field(score, "metadata") is { } metadata)
        {
            var pairs = new List<KeyValuePair<string, string?>>();
            TraceRules.Flatten(metadata, "metadata", pairs);
            var probe = new TracePart();
            rules.ApplyKeys(probe, pairs);
            part.Complaint = probe.Complaint;
        }

        return part;
    }

    // ---------- input preview ----------

    /// <summary>The user's input as text (a message field, the last user message of a chat), at most 2000 characters.</summary>
    public static string? Preview(JsonElement? input)
    {
        var text = PreviewText(input, 0);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        text = text.Trim();
        return text.Length <= MaxPreview ? text : text[..MaxPreview];
    }

    private static string? PreviewText(JsonElement? input, int depth)
    {
        if (input is not { } value || depth > 4)
        {
            return null;
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var text = value.GetString()!;
                if (LooksLikeJson(text) && Structured(value) is { } parsed)
                {
                    return PreviewText(parsed, depth + 1) ?? text;
                }

                return text.Length >= 2 && text[0] == '"' ? Unquote(text) : text;
            case JsonValueKind.Object:
                foreach (var name in PreviewFields)
                {
                    if (value.TryGetProperty(name, out var field) && PreviewText(field, depth + 1) is { } found)
                    {
                        return found;
                    }
                }

                if (value.TryGetProperty("messages", out var messages))
                {
                    return PreviewText(messages, depth + 1) ?? value.GetRawText();
                }

                return value.GetRawText();
            case JsonValueKind.Array:
                JsonElement? lastUser = null;
                foreach (var item in value.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object && Text(item, "role") is "user" or "human")
                    {
                        lastUser = item;
                    }
                }

                if (lastUser is { } user && Field(user, "content") is { } content)
                {
                    return content.ValueKind == JsonValueKind.Array ? ContentText(content) : PreviewText(content, depth + 1);
                }

                return value.GetArrayLength() == 0 ? null : value.GetRawText();
            default:
                return JsonText.Of(value);
        }
    }

    /// <summary>The text parts of a multimodal content array.</summary>
    private static string? ContentText(JsonElement content)
    {
        var texts = content.EnumerateArray()
            .Select(part => part.ValueKind == JsonValueKind.String ? part.GetString() : Text(part, "text"))
            .Where(text => !string.IsNullOrWhiteSpace(text))
            .ToList();
        return texts.Count == 0 ? null : string.Join("\n", texts);
    }
}
