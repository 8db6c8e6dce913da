using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warehouse.Sources.Json;
using Warehouse.Traces;
using static Warehouse.Sources.LangSmith.LangSmithTraceValues;

namespace Warehouse.Sources.LangSmith;

/// <summary>
/// One LangSmith run (legacy `list_runs` shape or the SmithDB `runs.query` shape) as trace parts:
/// the run as "span:&lt;run id&gt;" and, on a root run, its `feedback_stats` as "feedback:stats:&lt;key&gt;".
/// See README.md in this folder (trace section) for every rule.
/// </summary>
internal static partial class LangSmithRunParts
{
    /// <summary>Where the LangSmith UI is, for trace URLs built from `app_path` (Sources:langsmith:AppUrl overrides).</summary>
    public const string DefaultAppUrl = "https://smith.langchain.com";

    private static readonly string[] ThreadKeys = ["session_id", "thread_id", "conversation_id"];
    private static readonly string[] PreviewKeys = ["input", "question", "query", "message", "prompt", "text", "content"];

    /// <summary>The first JSON object's keys look like a run: an id, a run type and its place in a trace.</summary>
    public static bool LooksLikeRun(IReadOnlyCollection<string> keys) =>
        keys.Contains("id") && keys.Contains("run_type")
        && (keys.Contains("trace_id") || keys.Contains("dotted_order") || keys.Contains("parent_run_id") || keys.Contains("parent_run_ids") || keys.Contains("is_root"))
        && !keys.Contains("eval_run_id") && !keys.Contains("case_id") && !keys.Contains("metric");

    /// <summary>The run's parts, or the reason it cannot be read.</summary>
    public static (List<TracePart>? Parts, string? Error) Read(JsonElement run, TraceRules rules, string appUrl)
    {
        try
        {
            return (Parts(run, rules, appUrl), null);
        }
        catch (BadValueException error)
        {
            var id = Scalar(run, "id");
            return (null, id is null ? error.Message : $"run {id}: {error.Message}");
        }
    }

    private static List<TracePart> Parts(JsonElement run, TraceRules rules, string appUrl)
    {
        var id = Scalar(run, "id") ?? throw new BadValueException("the run has no id");
        var dotted = Scalar(run, "dotted_order");
        var ancestors = At(run, "parent_run_ids") is { ValueKind: JsonValueKind.Array } list
            ? list.EnumerateArray().Select(JsonText.Of).OfType<string>().ToList()
            : [];
        var dottedIds = dotted is null ? [] : DottedIds(dotted);
        var parent = Scalar(run, "parent_run_id")
            ?? ancestors.LastOrDefault()
            ?? (dottedIds.Count > 1 ? dottedIds[^2] : null);
        var isRootFlag = Flag(run, "is_root");
        var traceId = Scalar(run, "trace_id")
            ?? ancestors.FirstOrDefault()
            ?? (dottedIds.Count > 0 ? dottedIds[0] : null)
            ?? (parent is null && isRootFlag != false ? id : null)
            ?? throw new BadValueException("the run has no trace_id (and no parent_run_ids or dotted_order naming its root)");
        var isRoot = isRootFlag ?? (parent is null && string.Equals(traceId, id, StringComparison.OrdinalIgnoreCase));
        var runType = Scalar(run, "run_type")?.Trim().ToLowerInvariant();

        var part = new TracePart
        {
            TraceId = traceId,
            PartId = "span:" + id,
            Kind = PartKind.Span,
            ParentId = isRoot ? null : parent,
            IsRoot = isRoot,
            Name = Scalar(run, "name"),
            Role = runType switch
            {
                "llm" => SpanRole.Model,
                "tool" => SpanRole.Tool,
                "retriever" => SpanRole.Retrieval,
                _ => SpanRole.Other,
            },
            Start = Time(run, "start_time"),
            End = Time(run, "end_time"),
        };

        // Keys: the SmithDB shape's top-level metadata, then extra.metadata (named as the eval adapter's paths name them).
        var metadata = Object(run, "metadata");
        var extraMetadata = Object(run, "extra.metadata");
        var pairs = new List<KeyValuePair<string, string?>>();
        if (metadata is { } top)
        {
            TraceRules.Flatten(top, "metadata", pairs);
        }

        if (extraMetadata is { } extra)
        {
            TraceRules.Flatten(extra, "extra.metadata", pairs);
        }

        rules.ApplyKeys(part, pairs);
        part.SessionId = ThreadKeys.SelectMany(key => new[] { metadata, extraMetadata }.Select(bag => bag is { } found ? Scalar(found, key) : null))
            .FirstOrDefault(value => value is not null) ?? Scalar(run, "thread_id");

        if (part.Role == SpanRole.Model)
        {
            var model = Scalar(run, "extra.metadata.ls_model_name") ?? Scalar(run, "metadata.ls_model_name")
                ?? Scalar(run, "extra.invocation_params.model") ?? Scalar(run, "extra.invocation_params.model_name")
                ?? Scalar(run, "outputs.llm_output.model_name");
            if (model is not null)
            {
                part.Model = ModelVersions.Normalize(model);
                part.SetKey("model_version", part.Model, derived: true);
            }
        }

        if (part.Role == SpanRole.Model || isRoot)
        {
            part.InputTokens = Count(run, "prompt_tokens") ?? Count(run, "outputs.usage_metadata.input_tokens");
            part.OutputTokens = Count(run, "completion_tokens") ?? Count(run, "outputs.usage_metadata.output_tokens");
            part.CostUsd = Number(run, "total_cost");
            if (part.CostUsd is null && Number(run, "prompt_cost") is { } prompt && Number(run, "completion_cost") is { } completion)
            {
                part.CostUsd = (double)((decimal)prompt + (decimal)completion);
            }

            // A root run's counts are LangSmith's roll-up over the whole trace: never add the children to them.
            part.TotalsCoverTrace = isRoot && (part.InputTokens is not null || part.OutputTokens is not null || part.CostUsd is not null);
        }

        var error = Scalar(run, "error") ?? Scalar(run, "error_preview");
        var status = Scalar(run, "status");
        if (error is not null || string.Equals(status, "error", StringComparison.OrdinalIgnoreCase))
        {
            part.IsError = true;
            part.ErrorType = ErrorType(error) ?? "error";
            part.JsonParseFailure = rules.IsJsonParseError(part.ErrorType) || rules.IsJsonParseError(error);
        }

        if (part.Role == SpanRole.Retrieval)
        {
            part.RetrievalEmpty = At(run, "outputs.documents") is { ValueKind: JsonValueKind.Array } documents
                ? documents.GetArrayLength() == 0
                : At(run, "outputs") is { ValueKind: JsonValueKind.Array } outputs ? outputs.GetArrayLength() == 0 : null;
        }

        var parts = new List<TracePart> { part };
        if (!isRoot)
        {
            return parts;
        }

        if (Number(run, "latency_seconds") is { } seconds)
        {
            part.DurationMs = seconds * 1000;
        }

        if (Scalar(run, "app_path") is { } appPath)
        {
            part.TraceUrl = appPath.StartsWith("http", StringComparison.OrdinalIgnoreCase) ? appPath : appUrl.TrimEnd('/') + "/" + appPath.TrimStart('/');
        }

        part.InputPreview = Preview(Scalar(run, "inputs_preview") ?? InputText(At(run, "inputs")));
        part.SetAttribute("project_id", Scalar(run, "project_id") ?? Scalar(run, "session_id"));
        if (At(run, "tags") is { ValueKind: JsonValueKind.Array } tags && tags.GetArrayLength() > 0)
        {
            part.SetAttribute("tags", string.Join(",", tags.EnumerateArray().Select(JsonText.Of).OfType<string>()));
        }

        if (Object(run, "feedback_stats") is { } stats)
        {
            foreach (var key in stats.EnumerateObject())
            {
                if (StatsPart(traceId, key.Name, key.Value) is { } feedback)
                {
                    parts.Add(feedback);
                }
            }
        }

        return parts;
    }

    /// <summary>`feedback_stats[key]`: the mean score when it is in 0..1, the most frequent category as the label, a sample comment.</summary>
    private static TracePart? StatsPart(string traceId, string key, JsonElement stats)
    {
        if (stats.ValueKind != JsonValueKind.Object || string.IsNullOrWhiteSpace(key))
        {
            return null;
        }

        var score = LangSmithScores.FromStats(stats);
        var category = Object(stats, "values") is { } values
            ? values.EnumerateObject()
                .Select(value => (value.Name, Count: value.Value.ValueKind == JsonValueKind.Number && value.Value.TryGetInt64(out var count) ? count : 0))
                .OrderByDescending(value => value.Count).ThenBy(value => value.Name, StringComparer.Ordinal)
                .Select(value => value.Name).FirstOrDefault()
            : null;
        double? number = score?.Score is { } text ? double.Parse(text, CultureInfo.InvariantCulture) : null;
        var label = category ?? (number is null ? score?.Raw : null);
        if (number is null && label is null)
        {
            return null;
        }

        return new TracePart
        {
            TraceId = traceId,
            PartId = "feedback:stats:" + key,
            Kind = PartKind.Feedback,
            FeedbackName = key,
            FeedbackScore = number,
            FeedbackLabel = label,
            FeedbackComment = At(stats, "comments") is { ValueKind: JsonValueKind.Array } comments
                ? comments.EnumerateArray().Select(JsonText.Of).FirstOrDefault(comment => comment is not null)
                : null,
        };
    }

    /// <summary>The run ids a dotted order names, root first: `%Y%m%dT%H%M%S%fZ&lt;run id&gt;` segments joined by '.'.</summary>
    private static List<string> DottedIds(string dotted) =>
        dotted.Split('.').Select(segment => segment.IndexOf('Z', StringComparison.Ordinal) is var z and > 0 && z < segment.Length - 1 ? segment[(z + 1)..] : null)
            .OfType<string>().ToList();

    /// <summary>
    /// The error's type: `JSONDecodeError('…')` or `ValueError: …` → the class name; a Python traceback →
    /// the class on its last line; anything else → its first line (≤200 characters).
    /// </summary>
    public static string? ErrorType(string? error)
    {
        if (string.IsNullOrWhiteSpace(error))
        {
            return null;
        }

        var lines = error.Trim().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = lines[0].StartsWith("Traceback", StringComparison.Ordinal) ? lines[^1] : lines[0];
        var match = ClassName().Match(line);
        var type = match.Success ? match.Groups[1].Value : line;
        return type.Length <= 200 ? type : type[..200];
    }

    [GeneratedRegex(@"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Timeout|Failure|Fault))\s*[(:]?", RegexOptions.CultureInvariant)]
    private static partial Regex ClassName();

    /// <summary>What the user asked: a well-known input field, else the last human message, else the first text value.</summary>
    private static string? InputText(JsonElement? inputs)
    {
        switch (inputs)
        {
            case null:
                return null;
            case { ValueKind: JsonValueKind.String } text:
                return text.GetString();
            case { ValueKind: JsonValueKind.Object } bag:
                foreach (var key in PreviewKeys)
                {
                    if (JsonText.Property(bag, key) is { ValueKind: JsonValueKind.String } found)
                    {
                        return found.GetString();
                    }
                }

                if (JsonText.Property(bag, "messages") is { ValueKind: JsonValueKind.Array } messages && LastHuman(messages) is { } human)
                {
                    return human;
                }

                return bag.EnumerateObject().Select(property => property.Value)
                    .Where(value => value.ValueKind == JsonValueKind.String).Select(value => value.GetString()).FirstOrDefault();
            default:
                return null;
        }
    }

    /// <summary>LangChain messages (`[[{type: human, content}]]` or `[{role: user, content}]`): the last human one's text.</summary>
    private static string? LastHuman(JsonElement messages)
    {
        string? last = null;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind == JsonValueKind.Array)
            {
                last = LastHuman(message) ?? last;
                continue;
            }

            var role = Scalar(message, "type") ?? Scalar(message, "role") ?? Scalar(message, "kwargs.type");
            if (role is "human" or "user" && (At(message, "content") ?? At(message, "kwargs.content")) is { } content)
            {
                last = content.ValueKind == JsonValueKind.String
                    ? content.GetString()
                    : content.ValueKind == JsonValueKind.Array
                        ? string.Join(" ", content.EnumerateArray().Select(item => Scalar(item, "text")).OfType<string>())
                        : last;
            }
        }

        return last;
    }

    private static string? Preview(string? text)
    {
        var trimmed = text?.Trim();
        return string.IsNullOrEmpty(trimmed) ? null : trimmed.Length <= 2000 ? trimmed : trimmed[..2000];
    }
}
