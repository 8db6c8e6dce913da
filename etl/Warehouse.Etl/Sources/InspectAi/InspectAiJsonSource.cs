using System.Globalization;
using System.Text.Json;
using Warehouse.Loading;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.InspectAi;

/// <summary>
/// Inspect AI's JSON eval log (`inspect eval ... --log-format=json`, or `inspect log convert
/// --to json`): one row per sample × scorer × epoch. The `eval` header (run key, model, grader
/// role, eval-level metadata, dataset) is broadcast onto every row; per-case keys come from the
/// sample's `metadata`. Samples stream one at a time; bare NaN/Infinity read as null ("not
/// scored"); fields Inspect omits because they are null are simply missing.
/// </summary>
public sealed class InspectAiJsonSource : SourceFormat
{
    public const string FormatName = "inspect-json";

    private const int MaxAttributeText = 500;

    private static readonly string[] MetadataKeys =
    [
        "prompt_version", "retriever_version", "guardrail_version", "experiment_bucket", "dataset_version", "judge_version",
        "feature", "intent", "language", "customer_tier", "output_format",
    ];

    public override string Name => FormatName;

    public override string SourceName => "inspect_ai";

    public override string Kind => "eval";

    /// <summary>`version` + `status` + `eval` at the top and a task in the eval header (EVAL-SOURCES §10).</summary>
    public override bool Detect(SourceFile file) =>
        file.TopLevelKeys.Contains("version") && file.TopLevelKeys.Contains("status") && file.TopLevelKeys.Contains("eval")
        && file.Head.Contains("\"task\"", StringComparison.Ordinal)
        && (file.Head.Contains("\"eval_id\"", StringComparison.Ordinal) || file.Head.Contains("\"run_id\"", StringComparison.Ordinal));

    /// <summary>Default key paths: the sample's metadata first, then the eval's (EVAL-SOURCES §8).</summary>
    public static Dictionary<string, string[]> DefaultKeyPaths()
    {
        var defaults = KeyMapping.MetadataDefaults(MetadataKeys, "metadata", "eval.metadata");
        defaults["dataset_id"] = ["metadata.dataset_id", "eval.metadata.dataset_id", "eval.dataset.name", "eval.dataset.location"];
        defaults["source_trace_id"] = ["metadata.source_trace_id", "metadata.trace_id"];
        defaults["context_tokens"] = ["metadata.context_tokens"];
        return defaults;
    }

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        var keys = new KeyMapping(schema, SourceName, file.Settings, DefaultKeyPaths());
        var paths = new NaturalKeyPaths(
            file.Settings.KeyPaths(SourceName, "eval_run_id", ["eval.eval_id"]),
            file.Settings.KeyPaths(SourceName, "case_id", ["id"]),
            file.Settings.KeyPaths(SourceName, "model_version", ["eval.model", "output.model"]));

        using (var log = new InspectLogStream(file.Open()))
        {
            if (!log.MoveToSamples())
            {
                throw new LoadException($"{file.Path}: the Inspect log has no samples (was it written with --no-log-samples?)");
            }

            // Inspect writes `eval` before `samples`: then one pass suffices. A log rewritten with
            // another property order gets a first pass for the header (below).
            if (log.HasEvalHeader)
            {
                using var header = log.Header();
                var run = RunContext.Create(file, header.RootElement, paths);
                long number = 0;
                foreach (var sample in log.Samples())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    foreach (var record in Rows(sample, ++number, run, schema, keys, paths))
                    {
                        yield return record;
                    }
                }

                log.ReadToEnd();
                yield break;
            }
        }

        JsonDocument runHeader;
        using (var headerPass = new InspectLogStream(file.Open()))
        {
            headerPass.ReadToEnd();
            runHeader = headerPass.Header();
        }

        using (runHeader)
        using (var log = new InspectLogStream(file.Open()))
        {
            var run = RunContext.Create(file, runHeader.RootElement, paths);
            log.MoveToSamples();
            long number = 0;
            foreach (var sample in log.Samples())
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (var record in Rows(sample, ++number, run, schema, keys, paths))
                {
                    yield return record;
                }
            }
        }
    }

    private IEnumerable<FieldRecord> Rows(JsonElement sample, long number, RunContext run, TableSchema schema, KeyMapping keys,
        NaturalKeyPaths paths)
    {
        if (sample.ValueKind != JsonValueKind.Object)
        {
            yield return Reject(schema, number, $"samples[{number - 1}] is a JSON {JsonKind(sample)}, not an object", sample.GetRawText);
            yield break;
        }

        var scope = new JsonScope(sample, run.Header);
        var caseId = scope.FirstText(paths.CaseId);
        var label = caseId is null ? $"samples[{number - 1}]" : $"sample {caseId}";
        if (caseId is null)
        {
            yield return Reject(schema, number, $"{label} has no case id (looked at {string.Join(", ", paths.CaseId)})", () => Summary(sample));
            yield break;
        }

        var epoch = "1";
        if (JsonText.Property(sample, "epoch") is { } epochValue && epochValue.ValueKind != JsonValueKind.Null)
        {
            if (epochValue.ValueKind != JsonValueKind.Number || !epochValue.TryGetInt32(out var epochNumber) || epochNumber < 1)
            {
                yield return Reject(schema, number, $"{label}: epoch {Shorten(epochValue.GetRawText())} is not a positive whole number",
                    () => Summary(sample));
                yield break;
            }

            epoch = epochNumber.ToString(CultureInfo.InvariantCulture);
        }

        label = $"{label} epoch {epoch}";
        if (run.EvalRunId is null)
        {
            yield return Reject(schema, number, $"{label}: the log's eval header has no eval_id, and no run_id and task_id to stand in for it",
                () => Summary(sample));
            yield break;
        }

        var scores = JsonText.Property(sample, "scores");
        if (scores is not { ValueKind: JsonValueKind.Object } scoreMap || !scoreMap.EnumerateObject().Any())
        {
            var reason = scores is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null) } wrong
                ? $"{label}: scores is a JSON {JsonKind(wrong)}, not an object of scorer → score"
                : $"{label} has no scores" + (ErrorMessage(sample) is { } error ? $" (the sample ended with an error: {error})" : "");
            yield return Reject(schema, number, reason, () => Summary(sample));
            yield break;
        }

        var shared = SharedValues(sample, scope, run, caseId, epoch, schema, keys, paths);
        foreach (var scorer in scoreMap.EnumerateObject())
        {
            var value = scorer.Value.ValueKind == JsonValueKind.Object ? JsonText.Property(scorer.Value, "value") : null;
            if (value is null)
            {
                yield return Reject(schema, number,
                    $"{label}: the score of scorer {scorer.Name} " + (scorer.Value.ValueKind == JsonValueKind.Object ? "has no value" : $"is a JSON {JsonKind(scorer.Value)}, not a Score object"),
                    () => ScoreSummary(caseId, epoch, scorer));
                continue;
            }

            if (value.Value.ValueKind == JsonValueKind.Object)
            {
                // A dict value is several metrics at once (Inspect names them by key in results.scores).
                foreach (var entry in value.Value.EnumerateObject())
                {
                    yield return Row(schema, number, shared, $"{scorer.Name}/{entry.Name}", scorer.Name, InspectScoreValue.Read(entry.Value),
                        $"{label}: scorer {scorer.Name} key {entry.Name}", () => ScoreSummary(caseId, epoch, scorer));
                }

                continue;
            }

            yield return Row(schema, number, shared, scorer.Name, scorer.Name, InspectScoreValue.Read(value.Value),
                $"{label}: scorer {scorer.Name}", () => ScoreSummary(caseId, epoch, scorer));
        }
    }

    private static FieldRecord Row(TableSchema schema, long number, SharedColumns shared, string metric, string scorer, InspectScoreValue value,
        string label, Func<string> raw)
    {
        var record = new FieldRecord(number, schema.Columns.Count);
        if (value.Error is not null)
        {
            record.ReadError = $"{label}: {value.Error}";
            record.RawText = raw;
            return record;
        }

        Array.Copy(shared.Values, record.Values, shared.Values.Length);
        record.Extras = [.. shared.Extras];
        record.Set(schema, "metric", metric);
        record.Set(schema, "score", Number(value.Score));
        record.Set(schema, "is_passed", value.IsPassed is { } passed ? (passed ? "true" : "false") : null);
        record.Set(schema, "raw_score", value.RawScore);
        if (metric != scorer)
        {
            record.AddExtra("scorer", scorer);
        }

        if (value.IsUnscored)
        {
            record.AddExtra("unscored", "true");
        }

        if (value.IsOutsideUnitScale)
        {
            record.AddExtra("score_scale", "unknown: the value is outside 0..1, so score is left empty");
        }

        return record;
    }

    /// <summary>The columns every row of one sample shares, with the sample's attributes kept as extras on each row.</summary>
    private SharedColumns SharedValues(JsonElement sample, JsonScope scope, RunContext run, string caseId, string epoch, TableSchema schema,
        KeyMapping keys, NaturalKeyPaths paths)
    {
        var record = new FieldRecord(0, schema.Columns.Count);
        record.Set(schema, "source", SourceName);
        record.Set(schema, "eval_run_id", run.EvalRunId);
        record.Set(schema, "case_id", caseId);
        record.Set(schema, "epoch", epoch);
        if (scope.FirstText(paths.ModelVersion) is { } model)
        {
            record.Set(schema, "model_version", ModelVersions.Normalize(model));
        }

        keys.Apply(record, scope);

        var usage = ModelUsage(sample, run.ModelRaw);
        var outputUsage = JsonPath.Resolve(sample, JsonPath.Parse("output.usage"));
        record.Set(schema, "input_tokens", Count(usage, "input_tokens") ?? Count(outputUsage, "input_tokens"));
        record.Set(schema, "output_tokens", Count(usage, "output_tokens") ?? Count(outputUsage, "output_tokens"));
        record.Set(schema, "cost_usd", NumberText(usage, "total_cost") ?? NumberText(outputUsage, "total_cost"));
        var contextOrdinal = schema.Ordinal("context_tokens");
        record.Values[contextOrdinal] ??= Count(outputUsage, "input_tokens");
        if (JsonText.Property(sample, "total_time") is { ValueKind: JsonValueKind.Number } totalTime)
        {
            record.Set(schema, "latency_ms", Number(Math.Round(totalTime.GetDouble() * 1000, 3)));
        }

        record.Set(schema, "evaluated_at", scope.FirstText(["completed_at", "started_at", "eval.created"]));

        var extras = new List<KeyValuePair<string, string?>>(run.Extras);
        if (scope.Text("output.model") is { } resolved)
        {
            extras.Add(new("model_resolved", resolved));
        }

        if (scope.Text("uuid") is { } uuid)
        {
            extras.Add(new("sample_uuid", uuid));
        }

        if (JsonText.Property(sample, "working_time") is { ValueKind: JsonValueKind.Number } workingTime)
        {
            extras.Add(new("working_time_ms", Number(Math.Round(workingTime.GetDouble() * 1000, 3))));
        }

        if (ErrorMessage(sample) is { } error)
        {
            extras.Add(new("sample_error", error));
        }

        if (scope.Text("limit.type") is { } limit)
        {
            extras.Add(new("sample_limit", limit));
        }

        return new SharedColumns(record.Values, extras);
    }

    private sealed record SharedColumns(string?[] Values, IReadOnlyList<KeyValuePair<string, string?>> Extras);

    private static JsonElement? ModelUsage(JsonElement sample, string? modelRaw)
    {
        if (modelRaw is null || JsonText.Property(sample, "model_usage") is not { ValueKind: JsonValueKind.Object } usage)
        {
            return null;
        }

        return JsonText.Property(usage, modelRaw);
    }

    private static string? Count(JsonElement? usage, string name) =>
        usage is { ValueKind: JsonValueKind.Object } value && JsonText.Property(value, name) is { ValueKind: JsonValueKind.Number } count
            ? count.GetRawText()
            : null;

    private static string? NumberText(JsonElement? usage, string name) => Count(usage, name);

    private static string? ErrorMessage(JsonElement sample) => JsonText.Property(sample, "error") switch
    {
        { ValueKind: JsonValueKind.Object } error => JsonText.Property(error, "message") is { } message ? Cap(JsonText.Of(message)) : "error",
        { ValueKind: JsonValueKind.String } text => Cap(text.GetString()),
        _ => null,
    };

    private static string? Cap(string? text) =>
        text is null ? null : text.Length <= MaxAttributeText ? text : string.Concat(text.AsSpan(0, MaxAttributeText - 3), "...");

    private static string? Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture);

    private static string JsonKind(JsonElement value) => value.ValueKind.ToString().ToLowerInvariant();

    private static string Shorten(string text) => text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 57), "...");

    /// <summary>The parts of a sample that explain a reject, without its (possibly huge) messages and events.</summary>
    private static string Summary(JsonElement sample)
    {
        if (sample.ValueKind != JsonValueKind.Object)
        {
            return sample.GetRawText();
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var property in sample.EnumerateObject())
            {
                if (property.Name is "id" or "epoch" or "uuid" or "scores" or "metadata" or "error")
                {
                    property.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string ScoreSummary(string caseId, string epoch, JsonProperty scorer) =>
        $"{{\"id\":{JsonSerializer.Serialize(caseId)},\"epoch\":{epoch},\"scorer\":{JsonSerializer.Serialize(scorer.Name)},\"score\":{scorer.Value.GetRawText()}}}";

    private static FieldRecord Reject(TableSchema schema, long number, string reason, Func<string> raw) =>
        new(number, schema.Columns.Count) { ReadError = reason, RawText = raw };

    private sealed record NaturalKeyPaths(IReadOnlyList<string> EvalRunId, IReadOnlyList<string> CaseId, IReadOnlyList<string> ModelVersion);

    /// <summary>What every row of the log shares, worked out once from the eval header.</summary>
    private sealed record RunContext(JsonElement Header, string? EvalRunId, string? ModelRaw, IReadOnlyList<KeyValuePair<string, string?>> Extras)
    {
        public static RunContext Create(SourceFile file, JsonElement header, NaturalKeyPaths paths)
        {
            if (JsonText.Property(header, "eval") is not { ValueKind: JsonValueKind.Object })
            {
                throw new LoadException($"{file.Path}: the Inspect log has no eval header");
            }

            var scope = new JsonScope(header);
            // Logs before Inspect 0.3.95 have no eval_id: their run is (run_id, task_id) (EVAL-SOURCES §3.6).
            var runId = scope.FirstText(paths.EvalRunId)
                ?? (scope.Text("eval.run_id") is { } legacyRun && scope.Text("eval.task_id") is { } taskId ? $"{legacyRun}/{taskId}" : null);
            var modelRaw = scope.Text("eval.model");
            var extras = new List<KeyValuePair<string, string?>>();
            void Add(string name, string? value)
            {
                if (value is not null)
                {
                    extras.Add(new(name, value));
                }
            }

            Add("model_raw", modelRaw);
            Add("judge_model", scope.Text("eval.model_roles.grader.model"));
            Add("task", scope.Text("eval.task"));
            Add("task_version", scope.Text("eval.task_version"));
            Add("inspect_run_id", scope.Text("eval.run_id"));
            Add("eval_set_id", scope.Text("eval.eval_set_id"));
            Add("inspect_version", scope.Text("eval.packages.inspect_ai"));
            if (scope.Find("eval.tags") is { ValueKind: JsonValueKind.Array } tags && tags.GetArrayLength() > 0)
            {
                Add("tags", string.Join(",", tags.EnumerateArray().Select(JsonText.Of).OfType<string>()));
            }

            if (scope.Text("status") is { } status && status != "success")
            {
                Add("log_status", status);
            }

            return new RunContext(header, runId, modelRaw, extras);
        }
    }
}
