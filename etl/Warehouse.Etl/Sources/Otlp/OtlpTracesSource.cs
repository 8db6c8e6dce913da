using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warehouse.Traces;

namespace Warehouse.Sources.Otlp;

/// <summary>
/// OTLP/JSON traces as an OpenTelemetry collector's file exporter writes them: one export request
/// per line, the spans of one trace spread over lines and files (children are flushed before their
/// parents). Reads the GenAI semantic conventions in their current and older names
/// (`gen_ai.provider.name`/`gen_ai.system`, `gen_ai.usage.input_tokens`/`prompt_tokens`) and
/// OpenInference attributes (`openinference.span.kind`, `llm.token_count.*`, `llm.model_name`).
/// Each span is one part; the loader rolls the trace up from all of them.
/// </summary>
public sealed partial class OtlpTracesSource : TracePartFormat
{
    public const string SourceKey = "otlp";

    public override string Name => "otlp-traces-jsonl";

    public override string SourceName => SourceKey;

    public override bool Detect(SourceFile file) => file.TopLevelKeys.Contains("resourceSpans");

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        foreach (var (number, document, problem, raw) in OtlpJson.Requests(file, cancellationToken))
        {
            if (document is null)
            {
                yield return PartRecord.Reject(number, problem!, raw);
                continue;
            }

            using (document)
            {
                var resourceIndex = -1;
                foreach (var resourceSpans in OtlpJson.Array(document.RootElement, "resourceSpans"))
                {
                    resourceIndex++;
                    var resource = resourceSpans.TryGetProperty("resource", out var found) ? found : default;
                    var resourceAttributes = resource.ValueKind == JsonValueKind.Object ? OtlpJson.Attributes(resource) : [];
                    var scopeIndex = -1;
                    foreach (var scopeSpans in OtlpJson.Array(resourceSpans, "scopeSpans").Concat(OtlpJson.Array(resourceSpans, "instrumentationLibrarySpans")))
                    {
                        scopeIndex++;
                        var spanIndex = -1;
                        foreach (var span in OtlpJson.Array(scopeSpans, "spans"))
                        {
                            spanIndex++;
                            yield return ReadSpan(span, resourceAttributes, rules, number, (resourceIndex, scopeIndex, spanIndex), raw);
                        }
                    }
                }
            }
        }
    }

    private static PartRecord ReadSpan(JsonElement span, List<KeyValuePair<string, string?>> resourceAttributes, TraceRules rules,
        long number, (int Resource, int Scope, int Span) index, Func<string> raw)
    {
        Func<string> spanText = () => span.GetRawText();
        // Only a reject names where the span sits.
        string Where() => $"resourceSpans[{index.Resource}].scopeSpans[{index.Scope}].spans[{index.Span}]";
        if (span.ValueKind != JsonValueKind.Object)
        {
            return PartRecord.Reject(number, $"{Where()} is not a JSON object", raw);
        }

        if (!OtlpJson.TryId(span, "traceId", 16, out var traceId, out var problem)
            || !OtlpJson.TryId(span, "spanId", 8, out var spanId, out problem)
            || !OtlpJson.TryId(span, "parentSpanId", 8, out var parentId, out problem)
            || !OtlpJson.TryTime(span, "startTimeUnixNano", out var start, out problem)
            || !OtlpJson.TryTime(span, "endTimeUnixNano", out var end, out problem))
        {
            return PartRecord.Reject(number, $"{Where()}: {problem}", spanText);
        }

        if (traceId is null || spanId is null)
        {
            return PartRecord.Reject(number, $"{Where()}: the span has no {(traceId is null ? "traceId" : "spanId")}", spanText);
        }

        var attributes = OtlpJson.Attributes(span);
        var lookup = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (key, value) in attributes)
        {
            lookup.TryAdd(key, value);
        }

        string? Attribute(params ReadOnlySpan<string> names)
        {
            foreach (var name in names)
            {
                if (lookup.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value))
                {
                    return value;
                }
            }

            return null;
        }

        var part = new TracePart
        {
            TraceId = traceId,
            PartId = "span:" + spanId,
            Kind = PartKind.Span,
            ParentId = parentId,
            IsRoot = parentId is null,
            Name = span.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null,
            Start = start,
            End = end,
        };

        var operation = Attribute("gen_ai.operation.name")?.ToLowerInvariant();
        var kind = Attribute("openinference.span.kind")?.ToUpperInvariant();
        part.Role = (operation, kind) switch
        {
            ("chat" or "text_completion" or "generate_content" or "completion", _) or (_, "LLM") => SpanRole.Model,
            ("execute_tool", _) or (_, "TOOL") => SpanRole.Tool,
            ("retrieval", _) or (_, "RETRIEVER") => SpanRole.Retrieval,
            ("invoke_agent" or "create_agent", _) or (_, "AGENT") => SpanRole.Agent,
            _ => SpanRole.Other,
        };

        if (!TryCount(Attribute("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"), "input tokens", out var input, out problem)
            || !TryCount(Attribute("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"), "output tokens", out var output, out problem)
            || !TryCost(Attribute("llm.cost.total"), out var cost, out problem))
        {
            return PartRecord.Reject(number, $"{Where()} (span {spanId} of trace {traceId}): {problem}", spanText);
        }

        part.InputTokens = input;
        part.OutputTokens = output;
        part.CostUsd = cost;
        if (part.Role == SpanRole.Model && Attribute("gen_ai.response.model", "llm.response.model_name", "gen_ai.request.model", "llm.model_name", "llm.request.model_name") is { } model)
        {
            part.Model = ModelVersions.Normalize(model);
            part.SetKey("model_version", part.Model, derived: true);
        }

        part.SetKey("prompt_version", Attribute("llm.prompt_template.version"), derived: true);

        // Errors: span status ERROR or error.type; the type is error.type, else the exception event's type.
        var status = span.TryGetProperty("status", out var statusElement) && statusElement.ValueKind == JsonValueKind.Object ? statusElement : default;
        var statusCode = status.ValueKind == JsonValueKind.Object && status.TryGetProperty("code", out var code) ? code : default;
        var statusError = statusCode.ValueKind switch
        {
            JsonValueKind.Number => statusCode.TryGetInt32(out var value) && value == 2,
            JsonValueKind.String => statusCode.GetString() is "2" or "STATUS_CODE_ERROR" or "ERROR",
            _ => false,
        };
        List<string>? exceptionTypes = null;
        foreach (var item in OtlpJson.Array(span, "events"))
        {
            if (item.TryGetProperty("name", out var eventName) && eventName.ValueEquals("exception")
                && OtlpJson.Attributes(item).FirstOrDefault(pair => pair.Key == "exception.type").Value is { } exceptionType)
            {
                (exceptionTypes ??= []).Add(exceptionType);
            }
        }

        var errorType = Attribute("error.type");
        if (statusError || errorType is not null)
        {
            part.IsError = true;
            var statusMessage = status.ValueKind == JsonValueKind.Object && status.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String
                ? message.GetString()
                : null;
            part.ErrorType = Cap(errorType ?? exceptionTypes?.FirstOrDefault() ?? (string.IsNullOrWhiteSpace(statusMessage) ? null : statusMessage));
        }

        part.JsonParseFailure = rules.IsJsonParseError(errorType) || (exceptionTypes?.Any(rules.IsJsonParseError) ?? false);

        if (part.Role == SpanRole.Retrieval)
        {
            part.RetrievalEmpty = IsRetrievalEmpty(lookup, kind == "RETRIEVER");
        }

        // Keys: the span's own attributes before its resource's; OpenInference's `metadata` (a JSON
        // string of the app's context) is read as `metadata.<key>`.
        var keySources = new List<KeyValuePair<string, string?>>(attributes.Count + resourceAttributes.Count);
        foreach (var pair in attributes)
        {
            if ((pair.Key == "metadata" || pair.Key.EndsWith(".metadata", StringComparison.Ordinal)) && pair.Value?.TrimStart().StartsWith('{') == true)
            {
                // Flatten parses a string that holds a JSON object, and keeps it as text when it does not parse.
                TraceRules.Flatten(JsonSerializer.SerializeToElement(pair.Value), pair.Key, keySources);
            }
            else
            {
                keySources.Add(pair);
            }
        }

        keySources.AddRange(resourceAttributes);
        rules.ApplyKeys(part, keySources);
        part.SessionId = Attribute("session.id", "gen_ai.conversation.id")
            ?? resourceAttributes.FirstOrDefault(pair => pair.Key == "session.id").Value;
        if (part.IsRoot || part.Role == SpanRole.Agent)
        {
            part.InputPreview = Attribute("input.value", "gen_ai.prompt");
        }

        part.SetAttribute("service_name", resourceAttributes.FirstOrDefault(pair => pair.Key == "service.name").Value);
        part.SetAttribute("provider", Attribute("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"));
        part.SetAttribute("user_id", Attribute("user.id"));
        if (operation == "embeddings" || kind == "EMBEDDING")
        {
            part.SetAttribute("embedding_tokens", input?.ToString(CultureInfo.InvariantCulture));
        }

        return new PartRecord(number, part, spanText);
    }

    /// <summary>
    /// A retrieval that returned nothing: `gen_ai.retrieval.documents` empty (an array or a JSON
    /// string), an app count attribute of 0, or, for OpenInference, no `retrieval.documents.*` at all.
    /// </summary>
    private static bool? IsRetrievalEmpty(Dictionary<string, string?> attributes, bool openInference)
    {
        if (attributes.TryGetValue("gen_ai.retrieval.documents", out var documents) && documents is not null)
        {
            var trimmed = documents.Trim();
            if (trimmed.StartsWith('['))
            {
                try
                {
                    using var parsed = JsonDocument.Parse(trimmed);
                    return parsed.RootElement.ValueKind == JsonValueKind.Array && parsed.RootElement.GetArrayLength() == 0;
                }
                catch (JsonException)
                {
                    return null;
                }
            }

            return trimmed.Length == 0;
        }

        foreach (var (key, value) in attributes)
        {
            if (CountAttribute().IsMatch(key) && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count))
            {
                return count == 0;
            }
        }

        if (openInference)
        {
            return !attributes.Keys.Any(key => key.StartsWith("retrieval.documents", StringComparison.Ordinal));
        }

        return null;
    }

    private static bool TryCount(string? text, string what, out long? value, out string? problem)
    {
        value = null;
        problem = null;
        if (text is null)
        {
            return true;
        }

        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) && count >= 0)
        {
            value = count;
            return true;
        }

        // Some SDKs write counts as doubles ("1843.0").
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number >= 0 && number == Math.Floor(number) && number < 9e18)
        {
            value = (long)number;
            return true;
        }

        problem = $"{what} '{OtlpJson.Shorten(text)}' is not a count";
        return false;
    }

    private static bool TryCost(string? text, out double? value, out string? problem)
    {
        value = null;
        problem = null;
        if (text is null)
        {
            return true;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number) && number >= 0)
        {
            value = number;
            return true;
        }

        problem = $"llm.cost.total '{OtlpJson.Shorten(text)}' is not a cost in USD";
        return false;
    }

    private static string? Cap(string? text) => text is null ? null : text.Length <= 200 ? text : text[..200];

    [GeneratedRegex(@"(^|[._])(documents?|docs)[._]?(count|returned|found)$|(^|[._])retrieved[._]?(docs|documents)(_count)?$", RegexOptions.IgnoreCase)]
    private static partial Regex CountAttribute();
}
