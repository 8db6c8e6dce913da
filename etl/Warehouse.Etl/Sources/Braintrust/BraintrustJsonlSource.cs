using System.Globalization;
using System.Text;
using System.Text.Json;
using Warehouse.Loading;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.Braintrust;

/// <summary>
/// Braintrust experiment events as JSON Lines, one <c>ExperimentEvent</c> per line (the fetch API's
/// <c>events</c>, the SDK's <c>experiment.fetch()</c>, a BTQL export). One eval_records row per
/// root span × score. Rules:
/// <list type="bullet">
/// <item>Only root spans (<c>is_root</c>, else <c>span_id == root_span_id</c>) give rows; task, LLM
/// and score spans are read only for the model, prompt version, tokens and judge model of their trace.</item>
/// <item>A row id (<c>experiment_id</c>, <c>id</c>) logged more than once (<c>log_feedback</c>, merges)
/// keeps the version with the highest <c>_xact_id</c>, wherever it stands in the file; equal ids keep
/// the later line.</item>
/// <item>A <c>null</c> score is a skipped scorer: no row (its name goes to <c>attributes.skipped_scores</c>
/// of the span's other rows). A root span with no usable score at all, a non-numeric score or one
/// outside 0..1 (the range Braintrust enforces) is rejected with its line.</item>
/// <item><c>is_passed</c> stays null: Braintrust has no pass rule (pass_rate counts only what a tool judged).</item>
/// <item>Trials (<c>trial_count</c> &gt; 1) are root rows of one case with different row ids: they
/// become epochs 1..n ordered by <c>created</c>, then row id.</item>
/// </list>
/// The file is read twice: the first pass keeps one small entry per span (latest <c>_xact_id</c> per
/// row id, each span's parent and type, each LLM span's model and tokens), never a whole event.
/// </summary>
public sealed class BraintrustJsonlSource : SourceFormat
{
    public const string FormatName = "braintrust-jsonl";
    public const string Tool = "braintrust";

    /// <summary>The synthetic object the key paths can name for the trace's first task LLM span.</summary>
    public const string LlmSpanPath = "llm_span";

    public override string Name => FormatName;

    public override string SourceName => Tool;

    public override string Kind => "eval";

    private static readonly string[] RequiredKeys = ["id", "_xact_id", "experiment_id", "span_id", "root_span_id"];

    public static readonly string[] DefaultCaseIdPaths = ["metadata.case_id", "origin.id", "id"];

    public static readonly string[] DefaultRunIdPaths = ["experiment_id"];

    public static IReadOnlyDictionary<string, string[]> DefaultKeyPaths { get; } = BuildDefaults();

    private static Dictionary<string, string[]> BuildDefaults()
    {
        var defaults = KeyMapping.MetadataDefaults(
            [.. TableSchema.VersionKeys, "judge_version", "feature", "intent", "customer_tier", "output_format"], "metadata");
        defaults["model_version"] = [$"{LlmSpanPath}.metadata.model", "metadata.model"];
        defaults["prompt_version"] = ["metadata.prompt_version", $"{LlmSpanPath}.metadata.prompt.version"];
        defaults["language"] = ["metadata.language", "input.language"];
        defaults["dataset_id"] = ["metadata.dataset_id", "origin.object_id"];
        defaults["dataset_version"] = ["metadata.dataset_version", "origin._xact_id"];
        return defaults;
    }

    public override bool Detect(SourceFile file) =>
        file.FirstLineIsJsonObject && RequiredKeys.All(file.TopLevelKeys.Contains);

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        var caseIdPaths = file.Settings.KeyPaths(Tool, "case_id", DefaultCaseIdPaths);
        var runIdPaths = file.Settings.KeyPaths(Tool, "eval_run_id", DefaultRunIdPaths);
        var survey = SurveyFile(file, caseIdPaths, runIdPaths, cancellationToken);
        var keys = new KeyMapping(schema, Tool, file.Settings, DefaultKeyPaths);

        var lines = new BraintrustLines(file);
        foreach (var (lineNumber, line) in lines.Read(cancellationToken))
        {
            var (document, parseError) = TryParse(line);
            if (document is null)
            {
                yield return Reject(schema, lineNumber, line, $"line is not valid JSON ({parseError})");
                continue;
            }

            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    yield return Reject(schema, lineNumber, line, $"line is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object");
                    continue;
                }

                if (!IsRoot(root))
                {
                    continue;
                }

                var rowKey = RowKey(root);
                if (rowKey is not null && survey.Roots.TryGetValue(rowKey, out var latest)
                    && CompareXact(Text(root, "_xact_id"), latest.Xact) < 0)
                {
                    // An older version of a row logged again later in the file.
                    continue;
                }

                foreach (var record in RowsOf(root, schema, keys, survey, caseIdPaths, runIdPaths, lineNumber, line))
                {
                    yield return record;
                }
            }
        }
    }

    private static IEnumerable<FieldRecord> RowsOf(JsonElement root, TableSchema schema, KeyMapping keys, Survey survey,
        IReadOnlyList<string> caseIdPaths, IReadOnlyList<string> runIdPaths, long lineNumber, string line)
    {
        var own = new JsonScope(root);
        var runId = own.FirstText(runIdPaths);
        if (runId is null)
        {
            return [Reject(schema, lineNumber, line, $"root span has no experiment id (looked in {string.Join(", ", runIdPaths)})")];
        }

        var caseId = own.FirstText(caseIdPaths);
        if (caseId is null)
        {
            return [Reject(schema, lineNumber, line, $"root span has no case id (looked in {string.Join(", ", caseIdPaths)})")];
        }

        var scores = JsonText.Property(root, "scores");
        var error = JsonText.Property(root, "error") is { } errorElement ? JsonText.Of(errorElement) : null;
        if (scores is not { ValueKind: JsonValueKind.Object } scoreObject || !scoreObject.EnumerateObject().Any())
        {
            return [Reject(schema, lineNumber, line, "root span has no scores" + (error is null ? "" : $" (error: {Shorten(error)})"))];
        }

        var usable = new List<(string Metric, string Score, string Raw)>();
        var skipped = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var score in scoreObject.EnumerateObject())
        {
            if (!seen.Add(score.Name))
            {
                return [Reject(schema, lineNumber, line, $"score '{score.Name}' appears twice")];
            }

            switch (score.Value.ValueKind)
            {
                case JsonValueKind.Null:
                    skipped.Add(score.Name);
                    break;
                case JsonValueKind.True or JsonValueKind.False:
                    var flag = score.Value.ValueKind == JsonValueKind.True;
                    usable.Add((score.Name, flag ? "1" : "0", flag ? "true" : "false"));
                    break;
                case JsonValueKind.Number:
                    var raw = score.Value.GetRawText();
                    if (!score.Value.TryGetDouble(out var number) || !double.IsFinite(number) || number is < 0 or > 1)
                    {
                        return [Reject(schema, lineNumber, line, $"score '{score.Name}' is {raw}, outside 0..1")];
                    }

                    usable.Add((score.Name, raw, raw));
                    break;
                default:
                    return [Reject(schema, lineNumber, line,
                        $"score '{score.Name}' is {Shorten(score.Value.GetRawText())}, not a number")];
            }
        }

        if (usable.Count == 0)
        {
            return [Reject(schema, lineNumber, line, $"every scorer was skipped (all scores are null: {string.Join(", ", skipped)})")];
        }

        var rootSpanId = Text(root, "root_span_id");
        var trace = rootSpanId is not null ? survey.Traces.GetValueOrDefault(rootSpanId) : null;
        using var llmSpan = LlmSpanDocument(trace);
        var scope = llmSpan is null ? own : new JsonScope(root, llmSpan.RootElement);
        var rowKey = RowKey(root);
        var epoch = rowKey is not null && survey.Epochs.TryGetValue(rowKey, out var trial) ? trial : 1;
        var metrics = JsonText.Property(root, "metrics");

        var records = new List<FieldRecord>(usable.Count);
        foreach (var (metric, score, raw) in usable)
        {
            var record = new FieldRecord(lineNumber, schema.Columns.Count) { RawText = () => line };
            record.Set(schema, "source", Tool);
            record.Set(schema, "eval_run_id", runId);
            record.Set(schema, "case_id", caseId);
            record.Set(schema, "metric", metric);
            record.Set(schema, "epoch", epoch.ToString(CultureInfo.InvariantCulture));
            record.Set(schema, "score", score);
            record.Set(schema, "raw_score", raw);
            record.Set(schema, "latency_ms", LatencyMs(metrics));
            record.Set(schema, "input_tokens", MetricText(metrics, "prompt_tokens") ?? trace?.PromptTokensText);
            record.Set(schema, "output_tokens", MetricText(metrics, "completion_tokens") ?? trace?.CompletionTokensText);
            record.Set(schema, "evaluated_at", Text(root, "created") ?? StartedAt(metrics));
            record.Set(schema, "source_trace_id", rootSpanId);
            keys.Apply(record, scope);
            NormalizeModel(schema, record);

            record.AddExtra("row_id", Text(root, "id"));
            record.AddExtra("xact_id", Text(root, "_xact_id"));
            if (Text(root, "origin.id") is { } origin)
            {
                record.AddExtra("origin_record_id", origin);
            }

            if (trace?.JudgeModel is { } judge)
            {
                record.AddExtra("judge_model", judge);
            }

            if (JsonText.Property(root, "tags") is { ValueKind: JsonValueKind.Array } tags && tags.GetArrayLength() > 0)
            {
                record.AddExtra("tags", string.Join(",", tags.EnumerateArray().Select(JsonText.Of).OfType<string>()));
            }

            if (skipped.Count > 0)
            {
                record.AddExtra("skipped_scores", string.Join(",", skipped));
            }

            if (error is not null)
            {
                record.AddExtra("error", Shorten(error, 1000));
            }

            records.Add(record);
        }

        return records;
    }

    internal static void NormalizeModel(TableSchema schema, FieldRecord record)
    {
        var ordinal = schema.Ordinal("model_version");
        if (record.Values[ordinal] is { } raw)
        {
            record.Values[ordinal] = ModelVersions.Normalize(raw);
            record.AddExtra("model_raw", raw);
        }
    }

    private static JsonDocument? LlmSpanDocument(TraceFacts? trace)
    {
        if (trace?.Model is null && trace?.PromptVersion is null)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject(LlmSpanPath);
            writer.WriteStartObject("metadata");
            if (trace.Model is not null)
            {
                writer.WriteString("model", trace.Model);
            }

            if (trace.PromptVersion is not null)
            {
                writer.WriteStartObject("prompt");
                writer.WriteString("version", trace.PromptVersion);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return JsonDocument.Parse(buffer.ToArray());
    }

    private static string? LatencyMs(JsonElement? metrics)
    {
        if (Decimal(metrics, "start") is { } start && Decimal(metrics, "end") is { } end && end >= start)
        {
            return ((end - start) * 1000m).ToString("0.############", CultureInfo.InvariantCulture);
        }

        return null;
    }

    private static string? StartedAt(JsonElement? metrics) =>
        Decimal(metrics, "start") is { } start
            ? DateTimeOffset.UnixEpoch.AddTicks((long)(start * TimeSpan.TicksPerSecond)).ToString("O", CultureInfo.InvariantCulture)
            : null;

    private static decimal? Decimal(JsonElement? parent, string name) =>
        parent is { } element && JsonText.Property(element, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetDecimal(out var number)
            ? number
            : null;

    private static string? MetricText(JsonElement? metrics, string name) =>
        metrics is { } element && JsonText.Property(element, name) is { ValueKind: JsonValueKind.Number } value ? value.GetRawText() : null;

    private static (JsonDocument? Document, string? Error) TryParse(string line)
    {
        try
        {
            return (JsonDocument.Parse(line), null);
        }
        catch (JsonException error)
        {
            return (null, error.Message);
        }
    }

    private static FieldRecord Reject(TableSchema schema, long lineNumber, string line, string reason) =>
        new(lineNumber, schema.Columns.Count) { ReadError = reason, RawText = () => line };

    internal static bool IsRoot(JsonElement span)
    {
        if (JsonText.Property(span, "is_root") is { ValueKind: JsonValueKind.True or JsonValueKind.False } flag)
        {
            return flag.ValueKind == JsonValueKind.True;
        }

        var spanId = Text(span, "span_id");
        var rootSpanId = Text(span, "root_span_id");
        if (spanId is not null && rootSpanId is not null)
        {
            return spanId == rootSpanId;
        }

        return JsonText.Property(span, "span_parents") is not { ValueKind: JsonValueKind.Array } parents || parents.GetArrayLength() == 0;
    }

    private static string? RowKey(JsonElement span) =>
        Text(span, "experiment_id") is { } experiment && Text(span, "id") is { } id ? experiment + "\n" + id : null;

    private static string? Text(JsonElement element, string path) => new JsonScope(element).Text(path);

    private static string Shorten(string text, int length = 200) => text.Length <= length ? text : string.Concat(text.AsSpan(0, length - 3), "...");

    /// <summary>Transaction ids are decimal strings of 64-bit counters; compares them as numbers, a missing one lowest.</summary>
    internal static int CompareXact(string? left, string? right)
    {
        if (left is null || right is null)
        {
            return (left is null ? 0 : 1) - (right is null ? 0 : 1);
        }

        var a = left.TrimStart('0');
        var b = right.TrimStart('0');
        var allDigits = a.All(char.IsAsciiDigit) && b.All(char.IsAsciiDigit);
        return allDigits && a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b);
    }

    // ----- first pass -----

    private sealed record RootEntry(string? Xact, string RunId, string? CaseId, string? Created, string Id);

    private sealed record SpanEntry(string? Parent, string? Type);

    private sealed record LlmEntry(string? Xact, long Order, string RootSpanId, string? Parent, string? Model, string? PromptVersion,
        long? PromptTokens, long? CompletionTokens);

    /// <summary>What the trace of a root span says beyond the root: task model and prompt version, task tokens, judge model.</summary>
    private sealed class TraceFacts
    {
        public string? Model { get; set; }
        public string? PromptVersion { get; set; }
        public long? PromptTokens { get; set; }
        public long? CompletionTokens { get; set; }
        public string? JudgeModel { get; set; }
        public string? PromptTokensText => PromptTokens?.ToString(CultureInfo.InvariantCulture);
        public string? CompletionTokensText => CompletionTokens?.ToString(CultureInfo.InvariantCulture);
    }

    private sealed class Survey
    {
        public Dictionary<string, RootEntry> Roots { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, int> Epochs { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, TraceFacts> Traces { get; } = new(StringComparer.Ordinal);
    }

    private static Survey SurveyFile(SourceFile file, IReadOnlyList<string> caseIdPaths, IReadOnlyList<string> runIdPaths, CancellationToken cancellationToken)
    {
        var survey = new Survey();
        var spans = new Dictionary<string, SpanEntry>(StringComparer.Ordinal);
        var llms = new Dictionary<string, LlmEntry>(StringComparer.Ordinal);
        long lastBadLine = 0, lastLine = 0;
        string? lastBadError = null;

        {
            var lines = new BraintrustLines(file);
            foreach (var (lineNumber, line) in lines.Read(cancellationToken))
            {
                lastLine = lineNumber;
                JsonDocument document;
                try
                {
                    document = JsonDocument.Parse(line);
                }
                catch (JsonException error)
                {
                    (lastBadLine, lastBadError) = (lineNumber, error.Message);
                    continue;
                }

                using (document)
                {
                    var span = document.RootElement;
                    if (span.ValueKind != JsonValueKind.Object)
                    {
                        continue;
                    }

                    var xact = Text(span, "_xact_id");
                    var rowKey = RowKey(span);
                    if (IsRoot(span))
                    {
                        var own = new JsonScope(span);
                        if (rowKey is not null && own.FirstText(runIdPaths) is { } runId
                            && (!survey.Roots.TryGetValue(rowKey, out var known) || CompareXact(xact, known.Xact) >= 0))
                        {
                            survey.Roots[rowKey] = new RootEntry(xact, runId, own.FirstText(caseIdPaths), Text(span, "created"), Text(span, "id")!);
                        }

                        continue;
                    }

                    var spanId = Text(span, "span_id");
                    var parent = JsonText.Property(span, "span_parents") is { ValueKind: JsonValueKind.Array } parents && parents.GetArrayLength() > 0
                        ? JsonText.Of(parents[0])
                        : null;
                    var type = Text(span, "span_attributes.type");
                    if (spanId is not null)
                    {
                        spans[spanId] = new SpanEntry(parent, type);
                    }

                    if (type == "llm" && rowKey is not null && Text(span, "root_span_id") is { } traceId
                        && (!llms.TryGetValue(rowKey, out var earlier) || CompareXact(xact, earlier.Xact) >= 0))
                    {
                        llms[rowKey] = new LlmEntry(xact, earlier?.Order ?? lineNumber, traceId, parent,
                            Text(span, "metadata.model"), Text(span, "metadata.prompt.version"),
                            Count(span, "metrics.prompt_tokens"), Count(span, "metrics.completion_tokens"));
                    }
                }
            }

            if (lastBadLine > 0 && lastBadLine == lastLine && !lines.EndsWithLineBreak)
            {
                throw new JsonException($"line {lastBadLine}, the last, is cut off ({lastBadError}); the file is truncated");
            }
        }

        foreach (var llm in llms.Values.OrderBy(entry => entry.Order))
        {
            var facts = survey.Traces.TryGetValue(llm.RootSpanId, out var known) ? known : survey.Traces[llm.RootSpanId] = new TraceFacts();
            if (UnderScorer(llm.Parent, spans))
            {
                facts.JudgeModel ??= llm.Model;
                continue;
            }

            facts.Model ??= llm.Model;
            facts.PromptVersion ??= llm.PromptVersion;
            if (llm.PromptTokens is { } prompt)
            {
                facts.PromptTokens = (facts.PromptTokens ?? 0) + prompt;
            }

            if (llm.CompletionTokens is { } completion)
            {
                facts.CompletionTokens = (facts.CompletionTokens ?? 0) + completion;
            }
        }

        // Trials: several latest root rows of one case in one experiment are epochs, oldest first.
        foreach (var trials in survey.Roots.Where(pair => pair.Value.CaseId is not null)
                     .GroupBy(pair => (pair.Value.RunId, pair.Value.CaseId))
                     .Where(group => group.Count() > 1))
        {
            var epoch = 0;
            foreach (var (rowKey, _) in trials.OrderBy(pair => NormalizedCreated(pair.Value.Created), StringComparer.Ordinal)
                         .ThenBy(pair => pair.Value.Id, StringComparer.Ordinal))
            {
                survey.Epochs[rowKey] = ++epoch;
            }
        }

        return survey;
    }

    private static string NormalizedCreated(string? created) =>
        created is not null && DateTimeOffset.TryParse(created, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)
            : created ?? "";

    /// <summary>True when a span's ancestors include a score span: its LLM calls are the judge's, not the task's.</summary>
    private static bool UnderScorer(string? parent, Dictionary<string, SpanEntry> spans)
    {
        var hops = 0;
        while (parent is not null && hops++ < 64 && spans.TryGetValue(parent, out var span))
        {
            if (span.Type == "score")
            {
                return true;
            }

            parent = span.Parent;
        }

        return false;
    }

    private static long? Count(JsonElement span, string path) =>
        new JsonScope(span).Find(path) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt64(out var count) ? count : null;
}
