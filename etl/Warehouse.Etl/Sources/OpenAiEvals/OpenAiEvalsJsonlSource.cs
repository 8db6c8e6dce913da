using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Warehouse.Loading;
using Warehouse.Sources.Canonical;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.OpenAiEvals;

/// <summary>
/// The `oaieval` record log (JSON Lines from `LocalRecorder`): a `spec` line, a `final_report`
/// line anywhere, and events interleaved across samples. One row per sample × metric: `match`
/// events give `accuracy` (from `correct`), `metrics` events give one metric per numeric or
/// boolean field (modelgraded `score`, with the grader's `choice` kept). A sample's events are
/// scattered through the file, so the log is read once into one small tally per sample (see
/// <see cref="SampleResult"/>) and the rows are written at the end, joined with the samples file
/// (role "samples", `load --samples`) by the line index `sample_id` ends with.
/// </summary>
public sealed class OpenAiEvalsJsonlSource : SourceFormat
{
    public const string FormatName = "openai-evals-jsonl";

    public const string SamplesRole = "samples";

    /// <summary>Metric name for `match` events: the key the final report gives their mean under.</summary>
    public const string MatchMetric = "accuracy";

    private const int MaxAttributeText = 500;

    private static readonly string[] SampleKeys =
    [
        "retriever_version", "guardrail_version", "experiment_bucket", "judge_version",
        "feature", "intent", "language", "customer_tier", "output_format",
    ];

    private static readonly JsonDocument EmptyObject = JsonDocument.Parse("{}");

    public override string Name => FormatName;

    public override string SourceName => "openai_evals";

    public override string Kind => "eval";

    public override IReadOnlyDictionary<string, string> CompanionRoles { get; } = new Dictionary<string, string>
    {
        [SamplesRole] = "OpenAI Evals: the samples JSONL the run read; per-case keys are joined by the line index sample_id ends with",
    };

    /// <summary>A first line `{"spec": {...}}` naming an eval and its completion functions (EVAL-SOURCES §2.2).</summary>
    public override bool Detect(SourceFile file) =>
        file.TopLevelKeys.Contains("spec")
        && file.FirstLine.Contains("\"completion_fns\"", StringComparison.Ordinal)
        && file.FirstLine.Contains("\"eval_name\"", StringComparison.Ordinal);

    /// <summary>Default key paths, looked up in the samples-file line (its `metadata`, then its top level), then in the run (`spec.*`).</summary>
    public static Dictionary<string, string[]> DefaultKeyPaths()
    {
        var defaults = SampleKeys.ToDictionary(key => key, key => new[] { $"metadata.{key}", key });
        defaults["prompt_version"] = ["metadata.prompt_version", "prompt_version", "spec.eval_name"];
        defaults["dataset_id"] = ["metadata.dataset_id", "dataset_id", "spec.run_config.eval_spec.args.samples_jsonl"];
        defaults["dataset_version"] = ["metadata.dataset_version", "dataset_version"];
        defaults["source_trace_id"] = ["metadata.source_trace_id", "source_trace_id"];
        defaults["context_tokens"] = ["metadata.context_tokens", "context_tokens"];
        return defaults;
    }

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        var log = new RecordLog();
        using (var stream = file.Open())
        {
            foreach (var (lineNumber, line) in JsonLines.Read(stream, cancellationToken))
            {
                if (log.Add(file, lineNumber, line) is { } reason)
                {
                    yield return Reject(schema, lineNumber, reason, () => line);
                }
            }
        }

        if (log.Spec is null)
        {
            throw new LoadException($"{file.Path}: no spec line; an oaieval record log starts with {{\"spec\": ...}}");
        }

        using var runDocument = log.RunDocument();
        var run = new RunContext(this, file, schema, runDocument.RootElement);
        if (!file.Companions.TryGetValue(SamplesRole, out var samplesPath))
        {
            foreach (var sample in log.Samples)
            {
                foreach (var record in run.Rows(sample, EmptyObject.RootElement, joinNote: null))
                {
                    yield return record;
                }
            }

            yield break;
        }

        // The join: samples by the 0-based line index their id ends with, read in one pass over the samples file.
        var pending = new Dictionary<int, List<SampleResult>>();
        foreach (var sample in log.Samples)
        {
            if (sample.LineIndex is { } index)
            {
                (pending.TryGetValue(index, out var list) ? list : pending[index] = []).Add(sample);
            }
            else
            {
                foreach (var record in run.Rows(sample, EmptyObject.RootElement, joinNote: "sample_id has no line index; not joined to the samples file"))
                {
                    yield return record;
                }
            }
        }

        long lines = 0;
        using (var samples = OpenCompanion(samplesPath))
        using (var reader = new StreamReader(samples, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16))
        {
            while (pending.Count > 0 && reader.ReadLine() is { } line)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var index = (int)lines++;
                if (!pending.Remove(index, out var matched))
                {
                    continue;
                }

                JsonDocument? document = null;
                string? problem = null;
                try
                {
                    document = JsonDocument.Parse(line);
                    if (document.RootElement.ValueKind != JsonValueKind.Object)
                    {
                        problem = $"is a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object";
                    }
                }
                catch (JsonException error)
                {
                    problem = $"is not valid JSON ({error.Message})";
                }

                using (document)
                {
                    foreach (var sample in matched)
                    {
                        if (problem is not null)
                        {
                            yield return Reject(schema, sample.FirstLine,
                                $"sample {sample.SampleId}: line {index + 1} of the samples file {Path.GetFileName(samplesPath)} {problem}, so its per-case keys cannot be joined",
                                () => line);
                            continue;
                        }

                        foreach (var record in run.Rows(sample, document!.RootElement, joinNote: null))
                        {
                            yield return record;
                        }
                    }
                }
            }
        }

        foreach (var sample in pending.Values.SelectMany(list => list).OrderBy(sample => sample.FirstLine))
        {
            yield return Reject(schema, sample.FirstLine,
                $"sample {sample.SampleId}: the samples file {Path.GetFileName(samplesPath)} has {lines} line(s), none at index {sample.LineIndex}; is it the file this run read?",
                () => sample.SampleId);
        }
    }

    private static Stream OpenCompanion(string path)
    {
        var raw = SourceFile.OpenRaw(path);
        Span<byte> magic = stackalloc byte[2];
        var isGzip = raw.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        raw.Position = 0;
        return isGzip ? new GZipStream(raw, CompressionMode.Decompress) : raw;
    }

    private static FieldRecord Reject(TableSchema schema, long number, string reason, Func<string> raw) =>
        new(number, schema.Columns.Count) { ReadError = reason, RawText = raw };

    internal static string? Cap(string? text) =>
        text is null ? null : text.Length <= MaxAttributeText ? text : string.Concat(text.AsSpan(0, MaxAttributeText - 3), "...");

    /// <summary>Python's `str(datetime)` ("2024-09-12 14:03:29.118204+00:00", or naive = UTC) to UTC ticks.</summary>
    internal static long? Timestamp(JsonElement? value) =>
        value is { ValueKind: JsonValueKind.String } text
        && DateTimeOffset.TryParse(text.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed)
            ? parsed.UtcTicks
            : null;

    internal static string TimestampText(long ticks) =>
        new DateTime(ticks, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Everything the first pass keeps: the spec, the final report, one tally per sample.</summary>
    private sealed class RecordLog
    {
        private readonly Dictionary<string, SampleResult> _byId = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);

        public JsonElement? Spec { get; private set; }

        public JsonElement? FinalReport { get; private set; }

        public List<SampleResult> Samples { get; } = [];

        /// <summary>Takes one line into the tallies; returns why the line cannot be used, or null.</summary>
        public string? Add(SourceFile file, long lineNumber, string line)
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException error)
            {
                return $"line is not valid JSON ({error.Message})";
            }

            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    return $"line is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object";
                }

                if (JsonText.Property(root, "spec") is { } spec)
                {
                    if (spec.ValueKind != JsonValueKind.Object)
                    {
                        return "spec is not an object";
                    }

                    if (Spec is { } earlier && Text(earlier, "run_id") != Text(spec, "run_id"))
                    {
                        throw new LoadException(
                            $"{file.Path}: line {lineNumber} starts a second run ({Text(spec, "run_id")} after {Text(earlier, "run_id")}); load one record log per file");
                    }

                    Spec = spec.Clone();
                    return null;
                }

                if (JsonText.Property(root, "final_report") is { } report)
                {
                    FinalReport = report.Clone();
                    return null;
                }

                if (JsonText.Property(root, "type") is not { ValueKind: JsonValueKind.String } typeValue)
                {
                    return "line is neither the spec, the final report nor an event (no \"type\")";
                }

                // Run-level events (recorded outside a sample) carry no per-case result; the final report has them.
                if (JsonText.Property(root, "sample_id") is not { } idValue || JsonText.Of(idValue) is not { } sampleId)
                {
                    return null;
                }

                var data = JsonText.Property(root, "data");
                var type = typeValue.GetString();
                var at = Timestamp(JsonText.Property(root, "created_at"));
                var sample = Sample(sampleId, JsonText.Property(root, "run_id") is { } run ? JsonText.Of(run) : null, lineNumber);
                var problem = type switch
                {
                    "match" => AddMatch(sample, data, lineNumber, at),
                    "metrics" => AddMetrics(sample, data, lineNumber, at),
                    "sampling" => AddSampling(sample, data),
                    "error" => AddError(sample, data),
                    _ => null,
                };
                // The bad line is reported; the sample is not reported a second time for lacking a result.
                sample.HasRejectedEvent |= problem is not null;
                return problem;
            }
        }

        private static string? AddMatch(SampleResult sample, JsonElement? data, long lineNumber, long? at)
        {
            if (data is not { ValueKind: JsonValueKind.Object } payload || JsonText.Property(payload, "correct") is not { } correct)
            {
                return $"sample {sample.SampleId}: match event without data.correct";
            }

            if (correct.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return $"sample {sample.SampleId}: match data.correct is a JSON {correct.ValueKind.ToString().ToLowerInvariant()} ({Shorten(correct.GetRawText())}), not true/false";
            }

            sample.Metric(MatchMetric, lineNumber).AddBoolean(correct.ValueKind == JsonValueKind.True, at);
            return null;
        }

        /// <summary>
        /// Every number or boolean in `data` is a metric of that name; `choice` (modelgraded) is kept
        /// as the grader's verdict, and becomes the metric itself when the spec gives no choice
        /// scores (`score` null). `score` must be a number or null: anything else is an error.
        /// </summary>
        private string? AddMetrics(SampleResult sample, JsonElement? data, long lineNumber, long? at)
        {
            if (data is not { ValueKind: JsonValueKind.Object } payload)
            {
                return $"sample {sample.SampleId}: metrics event without a data object";
            }

            if (JsonText.Property(payload, "score") is { ValueKind: not (JsonValueKind.Number or JsonValueKind.Null or JsonValueKind.True or JsonValueKind.False) } badScore)
            {
                return $"sample {sample.SampleId}: metrics data.score {Shorten(badScore.GetRawText())} is not a number";
            }

            var choice = JsonText.Property(payload, "choice") is { ValueKind: JsonValueKind.String } choiceValue ? choiceValue.GetString() : null;
            var used = false;
            foreach (var property in payload.EnumerateObject())
            {
                switch (property.Value.ValueKind)
                {
                    case JsonValueKind.Number:
                        var number = property.Value.GetDouble();
                        if (double.IsFinite(number))
                        {
                            sample.Metric(Name(property.Name), lineNumber).AddNumber(number, property.Value.GetRawText(), at);
                            used = true;
                        }

                        break;
                    case JsonValueKind.True or JsonValueKind.False:
                        sample.Metric(Name(property.Name), lineNumber).AddBoolean(property.Value.ValueKind == JsonValueKind.True, at);
                        used = true;
                        break;
                }
            }

            if (choice is not null)
            {
                sample.Choice = Name(choice);
                if (!used)
                {
                    sample.Metric("choice", lineNumber).AddCategory(sample.Choice, at);
                    used = true;
                }
            }

            return used ? null : $"sample {sample.SampleId}: metrics event has no number, boolean or choice to score";
        }

        private string? AddSampling(SampleResult sample, JsonElement? data)
        {
            if (data is not { ValueKind: JsonValueKind.Object } payload)
            {
                return null;
            }

            var model = JsonText.Property(payload, "model") is { } modelValue && JsonText.Of(modelValue) is { } text ? Name(text) : "";
            if (!sample.Usage.TryGetValue(model, out var usage))
            {
                sample.Usage[model] = usage = new UsageTally();
            }

            usage.Calls++;
            if (JsonText.Property(payload, "usage") is { ValueKind: JsonValueKind.Object } tokens)
            {
                var prompt = Count(tokens, "prompt_tokens") ?? Count(tokens, "input_tokens");
                var completion = Count(tokens, "completion_tokens") ?? Count(tokens, "output_tokens");
                usage.HasUsage |= prompt is not null || completion is not null;
                usage.PromptTokens += prompt ?? 0;
                usage.CompletionTokens += completion ?? 0;
                usage.LargestPrompt = Math.Max(usage.LargestPrompt, prompt ?? 0);
            }

            return null;
        }

        private static string? AddError(SampleResult sample, JsonElement? data)
        {
            sample.Error = data is { ValueKind: JsonValueKind.Object } payload
                ? Cap(JsonText.Property(payload, "message") is { } message ? JsonText.Of(message) : payload.GetRawText())
                : "error";
            return null;
        }

        private SampleResult Sample(string sampleId, string? runId, long lineNumber)
        {
            if (!_byId.TryGetValue(sampleId, out var sample))
            {
                _byId[sampleId] = sample = new SampleResult(sampleId, runId is null ? null : Name(runId), lineNumber);
                Samples.Add(sample);
            }

            sample.RunId ??= runId is null ? null : Name(runId);
            return sample;
        }

        /// <summary>One string instance per distinct name (metric, model, run id, choice) across all samples.</summary>
        private string Name(string text)
        {
            if (_names.TryGetValue(text, out var known))
            {
                return known;
            }

            if (_names.Count < 10_000)
            {
                _names[text] = text;
            }

            return text;
        }

        public JsonDocument RunDocument()
        {
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WritePropertyName("spec");
                Spec!.Value.WriteTo(writer);
                if (FinalReport is { } report)
                {
                    writer.WritePropertyName("final_report");
                    report.WriteTo(writer);
                }

                writer.WriteEndObject();
            }

            return JsonDocument.Parse(buffer.ToArray());
        }

        private static long? Count(JsonElement usage, string name) =>
            JsonText.Property(usage, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt64(out var count) ? count : null;

        private static string? Text(JsonElement element, string name) => JsonText.Property(element, name) is { } value ? JsonText.Of(value) : null;

        private static string Shorten(string text) => text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 57), "...");
    }

    /// <summary>The run-level values every row shares, and the rows of one sample.</summary>
    private sealed class RunContext
    {
        private readonly TableSchema _schema;
        private readonly JsonElement _run;
        private readonly KeyMapping _keys;
        private readonly IReadOnlyList<string> _casePaths;
        private readonly IReadOnlyList<string> _modelPaths;
        private readonly string _source;
        private readonly string? _specRunId;
        private readonly string? _candidateFn;
        private readonly string? _graderFn;
        private readonly string? _evalNameVersion;
        private readonly long? _createdAt;
        private readonly List<KeyValuePair<string, string?>> _extras = [];

        public RunContext(OpenAiEvalsJsonlSource format, SourceFile file, TableSchema schema, JsonElement run)
        {
            _schema = schema;
            _run = run;
            _source = format.SourceName;
            _keys = new KeyMapping(schema, format.SourceName, file.Settings, DefaultKeyPaths());
            _casePaths = file.Settings.KeyPaths(format.SourceName, "case_id", ["metadata.case_id", "case_id"]);
            _modelPaths = file.Settings.KeyPaths(format.SourceName, "model_version", ["spec.completion_fns[0]"]);
            var scope = new JsonScope(run);
            _specRunId = scope.Text("spec.run_id") ?? scope.Text("final_report.run_id");
            var fns = scope.Find("spec.completion_fns") is { ValueKind: JsonValueKind.Array } list
                ? list.EnumerateArray().Select(JsonText.Of).OfType<string>().ToList()
                : [];
            _candidateFn = fns.FirstOrDefault();
            // Modelgraded evals: the last completion fn is the grader (EVAL-SOURCES §2.5).
            _graderFn = fns.Count > 1 ? fns[^1] : null;
            _createdAt = Timestamp(scope.Find("spec.created_at"));
            var evalName = scope.Text("spec.eval_name");
            var suffix = evalName?[(evalName.LastIndexOf('.') + 1)..];
            _evalNameVersion = suffix is { Length: > 1 } && suffix[0] == 'v' && suffix[1..].All(char.IsAsciiDigit) ? suffix : null;

            Add("model_raw", _candidateFn);
            Add("judge_model", _graderFn);
            Add("eval_name", evalName);
            Add("created_by", scope.Text("spec.created_by"));
            if (scope.Find("final_report") is null)
            {
                Add("run_complete", "false");
            }
        }

        private void Add(string name, string? value)
        {
            if (value is not null)
            {
                _extras.Add(new(name, value));
            }
        }

        public IEnumerable<FieldRecord> Rows(SampleResult sample, JsonElement caseLine, string? joinNote)
        {
            var scope = new JsonScope(caseLine, _run);
            if (sample.Metrics.Count == 0 && sample.HasRejectedEvent)
            {
                yield break;
            }

            if (sample.Metrics.Count == 0)
            {
                var record = new FieldRecord(sample.FirstLine, _schema.Columns.Count)
                {
                    ReadError = $"sample {sample.SampleId} has no match or metrics event"
                        + (sample.Error is { } error ? $" (it ended with an error: {error})" : ""),
                    RawText = () => sample.SampleId,
                };
                yield return record;
                yield break;
            }

            var shared = new FieldRecord(0, _schema.Columns.Count);
            shared.Set(_schema, "source", _source);
            shared.Set(_schema, "eval_run_id", sample.RunId ?? _specRunId);
            shared.Set(_schema, "case_id", scope.FirstText(_casePaths) ?? sample.SampleId);
            shared.Set(_schema, "epoch", "1");
            if (scope.FirstText(_modelPaths) is { } model)
            {
                shared.Set(_schema, "model_version", ModelVersions.Normalize(model));
            }

            _keys.Apply(shared, scope);
            var datasetVersion = _schema.Ordinal("dataset_version");
            shared.Values[datasetVersion] ??= _evalNameVersion;

            var candidate = new UsageTally();
            var grader = new UsageTally();
            string? resolved = null;
            foreach (var (modelName, usage) in sample.Usage)
            {
                var isGrader = _graderFn is not null && _graderFn != _candidateFn && SameModel(modelName, _graderFn);
                var into = isGrader ? grader : candidate;
                into.PromptTokens += usage.PromptTokens;
                into.CompletionTokens += usage.CompletionTokens;
                into.LargestPrompt = Math.Max(into.LargestPrompt, usage.LargestPrompt);
                into.HasUsage |= usage.HasUsage;
                if (!isGrader && modelName.Length > 0)
                {
                    resolved ??= modelName;
                }
            }

            if (candidate.HasUsage)
            {
                shared.Set(_schema, "input_tokens", candidate.PromptTokens.ToString(CultureInfo.InvariantCulture));
                shared.Set(_schema, "output_tokens", candidate.CompletionTokens.ToString(CultureInfo.InvariantCulture));
                shared.Values[_schema.Ordinal("context_tokens")] ??= candidate.LargestPrompt.ToString(CultureInfo.InvariantCulture);
            }

            var extras = new List<KeyValuePair<string, string?>>(_extras) { new("sample_id", sample.SampleId) };
            if (resolved is not null)
            {
                extras.Add(new("model_resolved", resolved));
            }

            if (grader.HasUsage)
            {
                extras.Add(new("judge_input_tokens", grader.PromptTokens.ToString(CultureInfo.InvariantCulture)));
                extras.Add(new("judge_output_tokens", grader.CompletionTokens.ToString(CultureInfo.InvariantCulture)));
            }

            if (sample.Error is not null)
            {
                extras.Add(new("sample_error", sample.Error));
            }

            if (joinNote is not null)
            {
                extras.Add(new("samples_join", joinNote));
            }

            foreach (var metric in sample.Metrics)
            {
                var record = new FieldRecord(metric.FirstLine, _schema.Columns.Count);
                Array.Copy(shared.Values, record.Values, shared.Values.Length);
                record.Extras = [.. extras];
                record.Set(_schema, "metric", metric.Name);
                record.Set(_schema, "score", metric.Score?.ToString("R", CultureInfo.InvariantCulture));
                record.Set(_schema, "is_passed", metric.IsPassed is { } passed ? (passed ? "true" : "false") : null);
                record.Set(_schema, "raw_score", metric.RawScore);
                var at = metric.EvaluatedAtTicks ?? _createdAt;
                record.Set(_schema, "evaluated_at", at is { } ticks ? TimestampText(ticks) : null);
                if (metric.Count > 1)
                {
                    record.AddExtra("event_count", metric.Count.ToString(CultureInfo.InvariantCulture));
                }

                if (sample.Choice is not null && metric.Name != "choice")
                {
                    record.AddExtra("choice", sample.Choice);
                }

                if (!metric.InUnitScale)
                {
                    record.AddExtra("score_scale", "unknown: a value is outside 0..1, so score is left empty");
                }

                yield return record;
            }
        }

        /// <summary>A resolved API model ("gpt-4o-mini-2024-07-18") against a completion fn name ("gpt-4o-mini").</summary>
        private static bool SameModel(string resolved, string completionFn)
        {
            var fn = ModelVersions.Normalize(completionFn);
            var model = ModelVersions.Normalize(resolved);
            return string.Equals(model, fn, StringComparison.OrdinalIgnoreCase)
                || model.StartsWith(fn + "-20", StringComparison.OrdinalIgnoreCase);
        }
    }
}
