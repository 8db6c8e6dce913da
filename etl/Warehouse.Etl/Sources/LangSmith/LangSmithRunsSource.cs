using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warehouse.Loading;
using Warehouse.Sources.Canonical;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.LangSmith;

/// <summary>
/// LangSmith experiment results: the experiment's root runs (JSON Lines, `client.list_runs(project_name=
/// &lt;experiment&gt;, is_root=True)`), joined with their feedback (JSON Lines, `client.list_feedback`)
/// and optionally the dataset's examples (JSON Lines, `client.list_examples`). One eval row per root
/// run × feedback key. See README.md in this folder for every rule.
/// </summary>
public sealed partial class LangSmithRunsSource : SourceFormat
{
    public const string FormatName = "langsmith-runs-jsonl";
    public const string Tool = "langsmith";

    private static readonly string[] CanonicalEvalColumns = ["eval_run_id", "case_id", "metric"];

    public override string Name => FormatName;

    public override string SourceName => Tool;

    public override string Kind => "eval";

    public override IReadOnlyDictionary<string, string> CompanionRoles { get; } = new Dictionary<string, string>
    {
        [LangSmithCompanions.FeedbackRole] = "LangSmith feedback JSONL for the runs (default: <runs>.feedback.jsonl beside the runs file)",
        [LangSmithCompanions.ExamplesRole] = "LangSmith dataset examples JSONL, for per-case keys (default: <runs>.examples.jsonl beside the runs file)",
    };

    /// <summary>
    /// A LangSmith run (`id`, `trace_id`, `dotted_order`, `run_type`) that belongs to an experiment: the
    /// head of the file shows a run with a non-null `reference_example_id` (only evaluate() runs have
    /// one; production traces never do, so those stay for a trace format).
    /// </summary>
    public override IReadOnlyDictionary<string, string> ImpliedCompanions(SourceFile file)
    {
        var implied = new Dictionary<string, string>();
        foreach (var role in new[] { LangSmithCompanions.FeedbackRole, LangSmithCompanions.ExamplesRole })
        {
            if (!file.Companions.ContainsKey(role) && LangSmithCompanions.Beside(file.Path, role) is { } beside)
            {
                implied[role] = beside;
            }
        }

        return implied;
    }

    public override bool Detect(SourceFile file) =>
        IsRun(file.TopLevelKeys)
        && !CanonicalEvalColumns.Any(file.TopLevelKeys.Contains)
        && ReferenceExample().IsMatch(file.Head);

    /// <summary>The first 64 KiB show a run with a non-null `reference_example_id`: experiment runs, not production traces.</summary>
    internal static bool ShowsReferenceExample(string head) => ReferenceExample().IsMatch(head);

    internal static bool IsRun(IReadOnlySet<string> keys) =>
        keys.Contains("id") && keys.Contains("trace_id") && keys.Contains("dotted_order") && keys.Contains("run_type");

    [GeneratedRegex("\"reference_example_id\"\\s*:\\s*\"[^\"]")]
    private static partial Regex ReferenceExample();

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        var feedbackPath = LangSmithCompanions.Find(file, LangSmithCompanions.FeedbackRole);
        var examplesPath = LangSmithCompanions.Find(file, LangSmithCompanions.ExamplesRole);
        var feedback = feedbackPath is null ? null : FeedbackIndex.Read(feedbackPath, cancellationToken);
        var examples = examplesPath is null ? null : ExampleIndex.Read(examplesPath, cancellationToken);
        var reader = new RunReader(schema, SourceName, file.Settings, feedback, feedbackPath, examples);

        using var stream = file.Open();
        foreach (var (lineNumber, line) in JsonLines.Read(stream, cancellationToken))
        {
            foreach (var record in reader.Rows(line, lineNumber))
            {
                yield return record;
            }
        }
    }

    /// <summary>Feedback rows by run id: memory grows with the feedback file (small rows), never with the runs file.</summary>
    internal sealed class FeedbackIndex
    {
        private readonly Dictionary<string, List<JsonElement>> _byRun = new(StringComparer.OrdinalIgnoreCase);

        public static FeedbackIndex Read(string path, CancellationToken cancellationToken)
        {
            var index = new FeedbackIndex();
            foreach (var (_, item) in LangSmithCompanions.Objects(path, LangSmithCompanions.FeedbackRole, cancellationToken))
            {
                // A row without a run id or key cannot be joined or named: it is passed over.
                if (JsonText.Property(item, "run_id") is { ValueKind: JsonValueKind.String } runId
                    && JsonText.Property(item, "key") is { ValueKind: JsonValueKind.String } key
                    && !string.IsNullOrWhiteSpace(key.GetString()))
                {
                    var id = runId.GetString()!;
                    if (!index._byRun.TryGetValue(id, out var list))
                    {
                        index._byRun[id] = list = [];
                    }

                    list.Add(item);
                }
            }

            return index;
        }

        public IReadOnlyList<JsonElement> For(string runId) => _byRun.TryGetValue(runId, out var list) ? list : [];
    }

    /// <summary>Examples by id, without their inputs and outputs (the run has the same inputs): memory grows with the examples' metadata.</summary>
    internal sealed class ExampleIndex
    {
        private readonly Dictionary<string, JsonElement> _byId = new(StringComparer.OrdinalIgnoreCase);

        public static ExampleIndex Read(string path, CancellationToken cancellationToken)
        {
            var index = new ExampleIndex();
            foreach (var (_, item) in LangSmithCompanions.Objects(path, LangSmithCompanions.ExamplesRole, cancellationToken))
            {
                if (JsonText.Property(item, "id") is { ValueKind: JsonValueKind.String } id)
                {
                    // The last version of an example in the file wins.
                    index._byId[id.GetString()!] = LangSmithCompanions.Without(item, "inputs", "outputs");
                }
            }

            return index;
        }

        public JsonElement? Get(string? id) => id is not null && _byId.TryGetValue(id, out var example) ? example : null;
    }

    private sealed class RunReader
    {
        private readonly TableSchema _schema;
        private readonly string _sourceName;
        private readonly FeedbackIndex? _feedback;
        private readonly string? _feedbackPath;
        private readonly ExampleIndex? _examples;
        private readonly KeyMapping _keys;
        private readonly IReadOnlyList<string> _modelPaths;
        private readonly int _caseId;
        private readonly int _evalRunId;

        public RunReader(TableSchema schema, string sourceName, SourceSettings settings, FeedbackIndex? feedback, string? feedbackPath,
            ExampleIndex? examples)
        {
            _schema = schema;
            _sourceName = sourceName;
            _feedback = feedback;
            _feedbackPath = feedbackPath;
            _examples = examples;
            var defaults = LangSmithKeys.Defaults();
            _keys = new KeyMapping(schema, sourceName, settings, defaults);
            _modelPaths = settings.KeyPaths(sourceName, "model_version", defaults["model_version"]);
            _caseId = schema.Ordinal("case_id");
            _evalRunId = schema.Ordinal("eval_run_id");
        }

        public IEnumerable<FieldRecord> Rows(string line, long lineNumber)
        {
            var (document, error) = Parse(line);
            if (document is null)
            {
                yield return Rejected(line, lineNumber, error!);
                yield break;
            }

            using (document)
            {
                var run = document.RootElement;
                if (IsChild(run))
                {
                    // A child run (LLM call, retriever...) is trace detail, not an experiment result.
                    yield break;
                }

                var runId = Text(run, "id");
                if (runId is null)
                {
                    yield return Rejected(line, lineNumber, "the run has no id");
                    yield break;
                }

                var example = _examples?.Get(Text(run, "reference_example_id"));
                var scored = Scored(run, runId);
                if (scored.Count == 0)
                {
                    yield return Rejected(line, lineNumber, _feedbackPath is null
                        ? $"run {runId} has no feedback_stats and no feedback file was found (give --feedback, or put the feedback beside the runs as <name>.feedback.jsonl)"
                        : $"run {runId} has no feedback in {Path.GetFileName(_feedbackPath)} and no feedback_stats: nothing to score");
                    yield break;
                }

                foreach (var (metric, score, feedback, source, count) in scored)
                {
                    var record = new FieldRecord(lineNumber, _schema.Columns.Count) { RawText = () => line };
                    if (score.Error is not null)
                    {
                        record.ReadError = $"run {runId} feedback {Text(feedback, "id") ?? "?"} ({metric}): {score.Error}";
                        yield return record;
                        continue;
                    }

                    record.Set(_schema, "source", _sourceName);
                    record.Set(_schema, "metric", metric);
                    record.Set(_schema, "score", score.Score);
                    record.Set(_schema, "is_passed", score.Passed switch { true => "true", false => "false", null => null });
                    record.Set(_schema, "raw_score", score.Raw);

                    var scope = feedback.ValueKind == JsonValueKind.Object
                        ? (example is { } withExample ? new JsonScope(run, withExample, feedback) : new JsonScope(run, feedback))
                        : (example is { } onlyExample ? new JsonScope(run, onlyExample) : new JsonScope(run));
                    if (scope.FirstText(_modelPaths) is { } model)
                    {
                        record.Set(_schema, "model_version", ModelVersions.Normalize(model));
                        record.AddExtra("model_raw", model);
                    }

                    _keys.Apply(record, scope);
                    if (record.Values[_evalRunId] is null)
                    {
                        yield return Rejected(line, lineNumber, $"run {runId} has no session_id (the experiment id)");
                        yield break;
                    }

                    if (record.Values[_caseId] is null)
                    {
                        yield return Rejected(line, lineNumber,
                            $"run {runId} has no case id (no reference_example_id, no example metadata case_id, no extra.metadata.ls_example_case_id)");
                        yield break;
                    }

                    SetMeasures(record, run, feedback);
                    record.Set(_schema, "attributes", Attributes(run, runId, example, feedback, score, source, count));
                    yield return record;
                }
            }
        }

        /// <summary>
        /// The feedback of a run, one per key (keys in ordinal order). Several feedback rows with the same
        /// key (a human correction beside the model's) keep the latest by modified_at, then created_at,
        /// then file order. A run with no feedback in the file falls back to its own feedback_stats.
        /// </summary>
        private List<(string Metric, LangSmithScore Score, JsonElement Feedback, string Source, int Count)> Scored(JsonElement run, string runId)
        {
            var result = new List<(string, LangSmithScore, JsonElement, string, int)>();
            var rows = _feedback?.For(runId) ?? [];
            if (rows.Count > 0)
            {
                foreach (var group in rows.Select((row, order) => (Row: row, Order: order))
                             .GroupBy(entry => Text(entry.Row, "key")!, StringComparer.Ordinal)
                             .OrderBy(group => group.Key, StringComparer.Ordinal))
                {
                    var latest = group
                        .OrderBy(entry => Timestamp(entry.Row, "modified_at") ?? Timestamp(entry.Row, "created_at") ?? DateTimeOffset.MinValue)
                        .ThenBy(entry => Timestamp(entry.Row, "created_at") ?? DateTimeOffset.MinValue)
                        .ThenBy(entry => entry.Order)
                        .Last().Row;
                    result.Add((group.Key, LangSmithScores.FromFeedback(latest), latest, "feedback", group.Count()));
                }

                return result;
            }

            if (JsonText.Property(run, "feedback_stats") is { ValueKind: JsonValueKind.Object } stats)
            {
                foreach (var property in stats.EnumerateObject().OrderBy(property => property.Name, StringComparer.Ordinal))
                {
                    if (LangSmithScores.FromStats(property.Value) is { } score)
                    {
                        var count = JsonText.Property(property.Value, "n") is { ValueKind: JsonValueKind.Number } n && n.TryGetInt32(out var value) ? value : 1;
                        result.Add((property.Name, score, default, "feedback_stats", count));
                    }
                }
            }

            return result;
        }

        private void SetMeasures(FieldRecord record, JsonElement run, JsonElement feedback)
        {
            var start = Timestamp(run, "start_time");
            var end = Timestamp(run, "end_time");
            if (start is not null && end is not null && end >= start)
            {
                record.Set(_schema, "latency_ms", (end.Value - start.Value).TotalMilliseconds.ToString("R", CultureInfo.InvariantCulture));
            }

            record.Set(_schema, "input_tokens", Text(run, "prompt_tokens"));
            record.Set(_schema, "output_tokens", Text(run, "completion_tokens"));
            var cost = Text(run, "total_cost");
            if (cost is null && Number(run, "prompt_cost") is { } promptCost && Number(run, "completion_cost") is { } completionCost)
            {
                cost = (promptCost + completionCost).ToString("R", CultureInfo.InvariantCulture);
            }

            record.Set(_schema, "cost_usd", cost);
            record.Set(_schema, "evaluated_at", (feedback.ValueKind == JsonValueKind.Object ? Text(feedback, "created_at") : null) ?? Text(run, "start_time"));
            record.Set(_schema, "source_trace_id", Text(run, "trace_id"));
            record.Set(_schema, "artifact_url", Text(run, "app_path"));
        }

        private static string Attributes(JsonElement run, string runId, JsonElement? example, JsonElement feedback, LangSmithScore score,
            string source, int count)
        {
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("run_id", runId);
                WriteText(writer, "run_name", Text(run, "name"));
                WriteText(writer, "example_id", Text(run, "reference_example_id"));
                WriteText(writer, "run_status", Text(run, "status"));
                WriteText(writer, "run_error", Text(run, "error"));
                writer.WriteString("score_source", source);
                if (count > 1)
                {
                    writer.WriteNumber(source == "feedback" ? "feedback_rows_for_key" : "feedback_n", count);
                }

                if (score.Note is not null)
                {
                    writer.WriteString("score_note", score.Note);
                }

                if (feedback.ValueKind == JsonValueKind.Object)
                {
                    WriteText(writer, "feedback_id", Text(feedback, "id"));
                    WriteText(writer, "feedback_source_type", Text(feedback, "feedback_source.type"));
                    WriteText(writer, "judge_run_id", Text(feedback, "feedback_source.metadata.__run.run_id"));
                    WriteText(writer, "comment", Text(feedback, "comment"));
                    if (JsonText.Property(feedback, "value") is { ValueKind: not JsonValueKind.Null } value && JsonText.Property(feedback, "score") is { ValueKind: not JsonValueKind.Null })
                    {
                        writer.WritePropertyName("value");
                        value.WriteTo(writer);
                    }
                    else if (JsonText.Property(feedback, "value") is { ValueKind: JsonValueKind.Object or JsonValueKind.Array } structured)
                    {
                        writer.WritePropertyName("value");
                        structured.WriteTo(writer);
                    }

                    WriteJson(writer, "correction", JsonText.Property(feedback, "correction"));
                }

                WriteJson(writer, "tags", JsonText.Property(run, "tags"));
                WriteJson(writer, "run_metadata", JsonPath.Resolve(run, JsonPath.Parse("extra.metadata")));
                if (example is { } found)
                {
                    WriteJson(writer, "example_metadata", JsonText.Property(found, "metadata"));
                }

                writer.WriteEndObject();
            }

            return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }

        private static void WriteText(Utf8JsonWriter writer, string name, string? value)
        {
            if (value is not null)
            {
                writer.WriteString(name, value);
            }
        }

        private static void WriteJson(Utf8JsonWriter writer, string name, JsonElement? value)
        {
            if (value is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } present)
            {
                writer.WritePropertyName(name);
                present.WriteTo(writer);
            }
        }

        private FieldRecord Rejected(string line, long lineNumber, string reason) =>
            new(lineNumber, _schema.Columns.Count) { ReadError = reason, RawText = () => line };

        private static (JsonDocument? Document, string? Error) Parse(string line)
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

            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                var kind = document.RootElement.ValueKind.ToString().ToLowerInvariant();
                document.Dispose();
                return (null, $"line is a JSON {kind}, not a run object");
            }

            return (document, null);
        }

        private static bool IsChild(JsonElement run) =>
            Text(run, "parent_run_id") is not null
            || (Text(run, "dotted_order") is { } dotted && dotted.Contains('.', StringComparison.Ordinal));

        private static string? Text(JsonElement element, string path) =>
            element.ValueKind == JsonValueKind.Object && JsonPath.Resolve(element, JsonPath.Parse(path)) is { } found ? JsonText.Of(found) : null;

        private static double? Number(JsonElement element, string name) =>
            Text(element, name) is { } text && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;

        private static DateTimeOffset? Timestamp(JsonElement element, string name) =>
            Text(element, name) is { } text
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
                ? value
                : null;
    }
}

/// <summary>The default key paths (EVAL-SOURCES §8), overridable per key under Sources:langsmith:Keys.</summary>
public static class LangSmithKeys
{
    /// <summary>
    /// Paths are looked up in the run first, then the run's example (from the examples file), then the
    /// feedback row. `metadata.*` therefore names the example's metadata (a run has no top-level
    /// `metadata`; its metadata is `extra.metadata`), `feedback_source.*` the feedback's.
    /// </summary>
    public static Dictionary<string, string[]> Defaults()
    {
        var defaults = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["eval_run_id"] = ["session_id"],
            ["case_id"] = ["metadata.case_id", "extra.metadata.ls_example_case_id", "reference_example_id"],
            // Repetitions (evaluate(num_repetitions=n)) carry no index LangSmith writes; map one here if your runs have it.
            ["epoch"] = [],
            ["model_version"] = ["extra.metadata.model_version", "extra.metadata.model", "extra.metadata.ls_model_name", "metadata.model"],
            ["judge_version"] = ["feedback_source.metadata.judge_version", "extra.metadata.judge_version", "metadata.judge_version"],
            ["dataset_id"] = ["dataset_id", "extra.metadata.dataset_id", "metadata.dataset_id", "extra.metadata.ls_example_dataset_id"],
            // Not example_version: it differs per case and would split one experiment into as many dataset versions.
            ["dataset_version"] = ["extra.metadata.dataset_version", "metadata.dataset_version"],
        };
        foreach (var key in TableSchema.VersionKeys.Where(key => key != "model_version"))
        {
            // Experiment metadata first: version keys are the experiment's; the example's metadata can still name them.
            defaults[key] = [$"extra.metadata.{key}", $"metadata.{key}", $"extra.metadata.ls_example_{key}"];
        }

        foreach (var label in TableSchema.SliceLabels)
        {
            // Per-case labels: the example's metadata, its copy on the run, the inputs, then experiment metadata.
            defaults[label] = [$"metadata.{label}", $"extra.metadata.ls_example_{label}", $"inputs.{label}", $"extra.metadata.{label}"];
        }

        return defaults;
    }
}
