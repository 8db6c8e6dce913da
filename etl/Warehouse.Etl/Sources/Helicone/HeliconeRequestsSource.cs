using System.Globalization;
using System.Text.Json;
using Warehouse.Sources.Json;
using Warehouse.Traces;

namespace Warehouse.Sources.Helicone;

/// <summary>
/// Helicone request logs exported with `npx @helicone/export --format jsonl` (one `HeliconeRequest`
/// per line, the ClickHouse row as the API returns it). Helicone has no trace tree: requests are
/// grouped into traces by a custom property (`Sources:helicone:TraceProperty`, default a property
/// named `trace-id`/`trace_id`), else by `Helicone-Session-Id`, else each request is its own trace.
/// Every request is a model-call span "span:&lt;request_id&gt;"; its `helicone-score-feedback` (and
/// other scores) are feedback parts. See README.md in this folder.
/// </summary>
public sealed class HeliconeRequestsSource : TracePartFormat
{
    public const string FormatName = "helicone-requests-jsonl";
    public const string Tool = "helicone";
    public const string FeedbackScore = "helicone-score-feedback";

    private const string SessionIdProperty = "Helicone-Session-Id";

    public override string Name => FormatName;

    public override string SourceName => Tool;

    public override bool Detect(SourceFile file)
    {
        var keys = file.TopLevelKeys;
        return file.FirstLineIsJsonObject
               && keys.Contains("request_id")
               && (keys.Contains("request_created_at") || keys.Contains("response_created_at"))
               && (keys.Contains("response_status") || keys.Contains("request_model") || keys.Contains("delay_ms") || keys.Contains("provider"))
               && !keys.Contains("eval_run_id") && !keys.Contains("case_id") && !keys.Contains("metric");
    }

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        var options = new Options(
            PropertyName(file.Settings.Option(Tool, "TraceProperty")),
            PropertyName(file.Settings.Option(Tool, "ToolErrorProperty") ?? "tool-error"),
            PropertyName(file.Settings.Option(Tool, "RetrievedDocsProperty") ?? "retrieved-docs"));
        using var stream = file.Open();
        foreach (var (number, text, problem, _) in Canonical.JsonLines.ReadChecked(stream, Canonical.JsonLines.MaxLineBytes, cancellationToken))
        {
            Func<string> raw = () => text;
            if (problem is not null)
            {
                yield return PartRecord.Reject(number, problem, raw);
                continue;
            }

            var (parts, reason) = Read(text, rules, options);
            if (parts is null)
            {
                yield return PartRecord.Reject(number, reason!, raw);
                continue;
            }

            foreach (var part in parts)
            {
                yield return new PartRecord(number, part, raw);
            }
        }
    }

    /// <summary>Property names as compared: lowercase, '-' and ' ' as '_'; "" (configured empty) turns the rule off.</summary>
    private static string? PropertyName(string? configured) => string.IsNullOrWhiteSpace(configured) || configured.Trim() == "-" ? null : TraceRules.Normalize(configured);

    private sealed record Options(string? TraceProperty, string? ToolErrorProperty, string? RetrievedDocsProperty);

    private sealed class BadValueException(string message) : Exception(message);

    private static (List<TracePart>? Parts, string? Error) Read(string line, TraceRules rules, Options options)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException error)
        {
            return (null, $"line is not valid JSON ({error.Message})");
        }

        using (document)
        {
            var row = document.RootElement;
            if (row.ValueKind != JsonValueKind.Object)
            {
                return (null, $"line is a JSON {row.ValueKind.ToString().ToLowerInvariant()}, not a request object");
            }

            var requestId = Scalar(row, "request_id");
            if (requestId is null)
            {
                return (null, "the request has no request_id");
            }

            try
            {
                return (Parts(row, requestId, rules, options), null);
            }
            catch (BadValueException error)
            {
                return (null, $"request {requestId}: {error.Message}");
            }
        }
    }

    private static List<TracePart> Parts(JsonElement row, string requestId, TraceRules rules, Options options)
    {
        var properties = Properties(row);
        string? Property(string normalized) => properties.FirstOrDefault(pair => TraceRules.Normalize(pair.Key) == normalized).Value;

        var session = Property(TraceRules.Normalize(SessionIdProperty));
        var traceId = (options.TraceProperty is { } configured ? Property(configured) : Property("trace_id"))
            ?? session
            ?? requestId;

        var start = Time(row, "request_created_at");
        var end = Time(row, "response_created_at");
        var delay = Number(row, "delay_ms");
        if (end is null && start is not null && delay is not null)
        {
            end = start.Value.AddMilliseconds(delay.Value);
        }

        var part = new TracePart
        {
            TraceId = traceId,
            PartId = "span:" + requestId,
            Kind = PartKind.Span,
            Role = SpanRole.Model,
            Name = Property("helicone_session_path") ?? "request",
            Start = start,
            End = end,
            InputTokens = Count(row, "prompt_tokens"),
            OutputTokens = Count(row, "completion_tokens"),
            CostUsd = Number(row, "cost") ?? Number(row, "cost_usd"),
            SessionId = session,
            InputPreview = Preview(Body(row, "request_body")),
        };

        if ((Scalar(row, "request_model") ?? Scalar(row, "model")) is { } model)
        {
            part.Model = ModelVersions.Normalize(model);
            part.SetKey("model_version", part.Model, derived: true);
        }

        // Helicone prompts: prompt_id with an integer version reads as "<id>-v<n>", as prompt names do elsewhere.
        if (Scalar(row, "prompt_id") is { } promptId && Scalar(row, "prompt_version") is { } promptVersion)
        {
            part.SetKey("prompt_version", int.TryParse(promptVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
                ? $"{promptId}-v{version}"
                : promptVersion, derived: true);
        }

        rules.ApplyKeys(part, properties);

        if (Scalar(row, "response_status") is { } statusText)
        {
            if (!int.TryParse(statusText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var status))
            {
                throw new BadValueException($"response_status '{Shorten(statusText)}' is not an HTTP status");
            }

            if (status is < 200 or > 299)
            {
                part.IsError = true;
                part.ErrorType = ErrorType(row) ?? $"HTTP {status}";
                part.JsonParseFailure = rules.IsJsonParseError(part.ErrorType);
            }

            part.SetAttribute("response_status", statusText);
        }

        part.SetAttribute("user_id", Scalar(row, "request_user_id"));
        part.SetAttribute("provider", Scalar(row, "provider"));
        part.SetAttribute("country_code", Scalar(row, "country_code"));
        part.SetAttribute("session_name", Property("helicone_session_name"));

        var parts = new List<TracePart> { part };
        var feedbackAt = Time(row, "updated_at") ?? end ?? start;
        if (Object(row, "scores") is { } scores)
        {
            foreach (var score in scores.EnumerateObject())
            {
                if (Feedback(traceId, requestId, score.Name, score.Value, feedbackAt) is { } feedback)
                {
                    parts.Add(feedback);
                }
            }
        }

        // Older rows: feedback_rating (bool) and feedback_created_at instead of the score.
        if (!parts.Any(each => each.FeedbackName == FeedbackScore) && At(row, "feedback_rating") is { } rating)
        {
            if (Feedback(traceId, requestId, FeedbackScore, rating, Time(row, "feedback_created_at") ?? feedbackAt) is { } feedback)
            {
                parts.Add(feedback);
            }
        }

        // What the app reports about its tools and retrieval through properties (Helicone itself sees only model calls).
        if (options.ToolErrorProperty is { } toolError && Property(toolError) is { } failure && TraceRules.Truth(failure) != false)
        {
            parts.Add(new TracePart
            {
                TraceId = traceId,
                PartId = $"span:{requestId}:tool",
                Kind = PartKind.Span,
                ParentId = requestId,
                Role = SpanRole.Tool,
                Name = failure.Split(':')[0],
                Start = start,
                IsError = true,
                ErrorType = failure.Length <= 200 ? failure : failure[..200],
                JsonParseFailure = rules.IsJsonParseError(failure),
            });
        }

        if (options.RetrievedDocsProperty is { } retrieved && Property(retrieved) is { } documents)
        {
            if (!long.TryParse(documents.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) || count < 0)
            {
                var named = properties.First(pair => TraceRules.Normalize(pair.Key) == retrieved).Key;
                throw new BadValueException($"property {named} '{Shorten(documents)}' is not a document count");
            }

            parts.Add(new TracePart
            {
                TraceId = traceId,
                PartId = $"span:{requestId}:retrieval",
                Kind = PartKind.Span,
                ParentId = requestId,
                Role = SpanRole.Retrieval,
                Name = "retrieval",
                Start = start,
                RetrievalEmpty = count == 0,
            });
        }

        return parts;
    }

    /// <summary>
    /// A score: `helicone-score-feedback` 1/0 (or true/false) is thumbs-up/thumbs-down; other scores are
    /// the app's own, kept as the score when in 0..1, else as the label.
    /// </summary>
    private static TracePart? Feedback(string traceId, string requestId, string name, JsonElement value, DateTime? at)
    {
        double? number = value.ValueKind switch
        {
            JsonValueKind.True => 1,
            JsonValueKind.False => 0,
            JsonValueKind.Null => null,
            JsonValueKind.Number => value.GetDouble(),
            JsonValueKind.String when string.IsNullOrWhiteSpace(value.GetString()) => null,
            JsonValueKind.String when double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
            JsonValueKind.String when TraceRules.Truth(value.GetString()) is { } flag => flag ? 1 : 0,
            _ => throw new BadValueException($"score {name} '{Shorten(value.ToString())}' is not a number"),
        };
        if (number is null)
        {
            return null;
        }

        var thumbs = string.Equals(name, FeedbackScore, StringComparison.OrdinalIgnoreCase);
        if (thumbs && number is not (0 or 1))
        {
            throw new BadValueException($"score {name} is {number.Value.ToString(CultureInfo.InvariantCulture)}; Helicone feedback is 1 (thumbs-up) or 0 (thumbs-down)");
        }

        var inRange = number is >= 0 and <= 1;
        return new TracePart
        {
            TraceId = traceId,
            PartId = $"feedback:{requestId}:{name}",
            Kind = PartKind.Feedback,
            FeedbackName = name,
            FeedbackScore = inRange ? number : null,
            FeedbackLabel = thumbs ? (number == 1 ? "thumbs-up" : "thumbs-down") : inRange ? null : number.Value.ToString("R", CultureInfo.InvariantCulture),
            FeedbackAt = at,
        };
    }

    /// <summary>The custom properties (`properties`, else `request_properties`; an object or its JSON text) in file order.</summary>
    private static List<KeyValuePair<string, string?>> Properties(JsonElement row)
    {
        var pairs = new List<KeyValuePair<string, string?>>();
        foreach (var name in new[] { "properties", "request_properties" })
        {
            var bag = At(row, name);
            if (bag is { ValueKind: JsonValueKind.String } text && text.GetString() is { Length: > 1 } json && json.TrimStart().StartsWith('{'))
            {
                try
                {
                    using var parsed = JsonDocument.Parse(json);
                    TraceRules.Flatten(parsed.RootElement, "", pairs);
                    return pairs;
                }
                catch (JsonException error)
                {
                    throw new BadValueException($"{name} is not valid JSON ({error.Message})");
                }
            }

            if (bag is { ValueKind: JsonValueKind.Object } properties)
            {
                TraceRules.Flatten(properties, "", pairs);
                return pairs;
            }
        }

        return pairs;
    }

    /// <summary>The provider's error type from a failed response body (`error.code`, else `error.type`), when the body is stored.</summary>
    private static string? ErrorType(JsonElement row)
    {
        if (Body(row, "response_body") is not { } body)
        {
            return null;
        }

        var type = Scalar(body, "error.code") ?? Scalar(body, "error.type") ?? Scalar(body, "type");
        return type is null ? null : type.Length <= 200 ? type : type[..200];
    }

    /// <summary>A request or response body: an object, or its JSON text; null for Helicone's "fetching body from signed_url" placeholder.</summary>
    private static JsonElement? Body(JsonElement row, string name)
    {
        var body = At(row, name);
        if (body is { ValueKind: JsonValueKind.String } text)
        {
            try
            {
                using var parsed = JsonDocument.Parse(text.GetString()!);
                body = parsed.RootElement.Clone();
            }
            catch (JsonException)
            {
                return null;
            }
        }

        return body is { ValueKind: JsonValueKind.Object } found && JsonText.Property(found, "helicone_message") is null ? found : null;
    }

    /// <summary>The last user message of a chat request (`messages[].content`, text or content parts), else a completion `prompt`.</summary>
    private static string? Preview(JsonElement? body)
    {
        if (body is not { } request)
        {
            return null;
        }

        string? text = null;
        if (JsonText.Property(request, "messages") is { ValueKind: JsonValueKind.Array } messages)
        {
            foreach (var message in messages.EnumerateArray())
            {
                if (Scalar(message, "role") == "user" && At(message, "content") is { } content)
                {
                    text = content.ValueKind == JsonValueKind.String
                        ? content.GetString()
                        : content.ValueKind == JsonValueKind.Array
                            ? string.Join(" ", content.EnumerateArray().Select(item => Scalar(item, "text")).OfType<string>())
                            : text;
                }
            }
        }

        text ??= Scalar(request, "prompt");
        var trimmed = text?.Trim();
        return string.IsNullOrEmpty(trimmed) ? null : trimmed.Length <= 2000 ? trimmed : trimmed[..2000];
    }

    private static JsonElement? At(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.Object && JsonPath.Resolve(element, JsonPath.Parse(path)) is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } found
            ? found
            : null;

    private static string? Scalar(JsonElement element, string path) =>
        At(element, path) is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Array) } found ? JsonText.Of(found) : null;

    private static JsonElement? Object(JsonElement element, string path)
    {
        var found = At(element, path);
        if (found is { ValueKind: JsonValueKind.String } text && text.GetString() is { } json && json.TrimStart().StartsWith('{'))
        {
            try
            {
                using var parsed = JsonDocument.Parse(json);
                return parsed.RootElement.Clone();
            }
            catch (JsonException error)
            {
                throw new BadValueException($"{path} is not valid JSON ({error.Message})");
            }
        }

        return found is { ValueKind: JsonValueKind.Object } ? found : null;
    }

    /// <summary>A count: a JSON integer or its text (ClickHouse quotes 64-bit integers).</summary>
    private static long? Count(JsonElement row, string name)
    {
        if (Scalar(row, name) is not { } text)
        {
            return null;
        }

        if (long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var count))
        {
            return count;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number == Math.Floor(number) && Math.Abs(number) < 9e15
            ? (long)number
            : throw new BadValueException($"{name} '{Shorten(text)}' is not a whole number");
    }

    private static double? Number(JsonElement row, string name) =>
        Scalar(row, name) is not { } text
            ? null
            : double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
                ? number
                : throw new BadValueException($"{name} '{Shorten(text)}' is not a number");

    /// <summary>ClickHouse `YYYY-MM-DD HH:MM:SS.mmm` (zone-less, UTC) or ISO-8601 with `Z`, an offset or none (naive = UTC).</summary>
    private static DateTime? Time(JsonElement row, string name)
    {
        if (Scalar(row, name) is not { } text)
        {
            return null;
        }

        return TraceTime.TryParse(text, out var value)
            ? value
            : throw new BadValueException($"{name} '{Shorten(text.Trim())}' is not a timestamp");
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 57), "...");
}
