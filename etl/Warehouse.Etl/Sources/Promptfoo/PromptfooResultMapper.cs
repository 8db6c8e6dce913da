using System.Globalization;
using System.Text.Json;
using Warehouse.Loading;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.Promptfoo;

/// <summary>
/// Turns one promptfoo <c>EvaluateResult</c> (a test × prompt column) into eval_records rows, one per
/// metric. The three promptfoo formats share it: JSON and JSONL hand it the result as written, the
/// CSV adapter hands it a result rebuilt from a row's column group. Rules (EVAL-SOURCES §1, issue 4):
/// <list type="bullet">
/// <item>eval_run_id = the run key (<c>evalId</c>, or the format's derived id when the file has none)
///   + <c>#</c> + <c>promptIdx</c>. promptfoo's own natural key is (evalId, testIdx, promptIdx): one eval
///   holds every prompt column, and the warehouse key (source, eval_run_id, case_id, metric, epoch) has no
///   prompt, so the column index goes into the run id. case_id stays the plain case id, which is what
///   pairs a case across prompt versions in the views. The bare evalId is kept in attributes.eval_id.</item>
/// <item>case_id = first of <c>testCase.metadata.case_id</c>, <c>metadata.case_id</c>,
///   <c>testCase.description</c>, <c>description</c>, <c>testIdx</c> (configurable as Keys:case_id). A
///   result with none of them is rejected.</item>
/// <item>epoch: promptfoo writes no repeat index (<c>--repeat</c> only shifts testIdx), so the n-th
///   result of the same (run, prompt column, case id) in file order is epoch n.</item>
/// <item>metrics: one row per <c>namedScores</c> entry; with no named scores, an errored result
///   (failureReason 2) gets one row per metric its assertions declare (score null: nothing was graded),
///   anything else one row with metric <c>score</c> from the result's <c>score</c>.</item>
/// <item>is_passed (promptfoo's rule, src/assertions/assertionsResult.ts): a named metric passes when
///   every component result (assertion) tagged with that metric passed — the assertion-level verdicts
///   promptfoo itself reports; when no component carries the metric (older files, CSV, stripped grading
///   results) the test's own <c>success</c> decides. The <c>score</c> metric uses <c>success</c>. With a
///   numeric test threshold promptfoo judges the test by score ≥ threshold; the test verdict is in
///   attributes.test_passed.</item>
/// <item>score = the value as promptfoo wrote it (its scale is already 0..1); raw_score keeps the text.
///   A score that is not a number (or a numeric string) rejects the result; null (promptfoo's NaN) is
///   kept as an unscored row.</item>
/// </list>
/// </summary>
internal sealed class PromptfooResultMapper
{
    public const string Source = "promptfoo";
    public const string ScoreMetric = "score";

    private readonly TableSchema _schema;
    private readonly KeyMapping _keys;
    private readonly IReadOnlyList<string> _caseIdPaths;
    private readonly Lazy<string> _derivedRunId;
    private readonly string _derivedRunIdRule;
    private readonly Dictionary<string, int> _occurrences = new(StringComparer.Ordinal);
    private readonly int _runIdOrdinal;
    private readonly int _caseIdOrdinal;
    private readonly int _modelOrdinal;
    private readonly int _promptOrdinal;

    public PromptfooResultMapper(TableSchema schema, SourceSettings settings, Func<string> derivedRunId, string derivedRunIdRule)
    {
        _schema = schema;
        var defaults = DefaultKeyPaths();
        _keys = new KeyMapping(schema, Source, settings, defaults);
        _caseIdPaths = settings.KeyPaths(Source, "case_id", defaults["case_id"]);
        _derivedRunId = new Lazy<string>(derivedRunId);
        _derivedRunIdRule = derivedRunIdRule;
        _runIdOrdinal = schema.Ordinal("eval_run_id");
        _caseIdOrdinal = schema.Ordinal("case_id");
        _modelOrdinal = schema.Ordinal("model_version");
        _promptOrdinal = schema.Ordinal("prompt_version");
    }

    /// <summary>Default JSON paths per column (record first, then the run level: config.metadata, config.tags).</summary>
    public static Dictionary<string, string[]> DefaultKeyPaths()
    {
        string[] metadataKeys =
        [
            "retriever_version", "guardrail_version", "experiment_bucket", "dataset_id", "dataset_version",
            "judge_version", "feature", "intent", "customer_tier", "output_format",
        ];
        var defaults = KeyMapping.MetadataDefaults(metadataKeys, "testCase.metadata", "metadata", "config.metadata");
        defaults["experiment_bucket"] = [.. defaults["experiment_bucket"], "config.tags.experiment_bucket"];
        defaults["language"] = ["testCase.metadata.language", "metadata.language", "vars.language", "testCase.vars.language", "config.metadata.language"];
        defaults["prompt_version"] = ["prompt.label", "testCase.metadata.prompt_version", "metadata.prompt_version", "config.metadata.prompt_version"];
        defaults["model_version"] = ["provider.id", "testCase.metadata.model_version", "metadata.model_version", "config.metadata.model_version"];
        defaults["eval_run_id"] = ["evalId", "testCase.metadata.evaluationId", "metadata.evaluationId"];
        defaults["case_id"] = ["testCase.metadata.case_id", "metadata.case_id", "testCase.description", "description", "testIdx"];
        defaults["evaluated_at"] = ["timestamp", "results.timestamp", "metadata.evaluationCreatedAt"];
        defaults["latency_ms"] = ["latencyMs", "response.latencyMs"];
        defaults["cost_usd"] = ["cost", "response.cost"];
        defaults["input_tokens"] = ["tokenUsage.prompt", "response.tokenUsage.prompt"];
        defaults["output_tokens"] = ["tokenUsage.completion", "response.tokenUsage.completion"];
        // The production trace a case was seeded from; promptfoo's own traceId (its tracing of the
        // eval run) comes last, for setups that link the two.
        defaults["source_trace_id"] = ["testCase.metadata.source_trace_id", "metadata.source_trace_id", "traceId"];
        defaults["artifact_url"] = ["shareableUrl"];
        return defaults;
    }

    /// <summary>
    /// The rows of one result, or one record with ReadError when the result cannot become rows.
    /// <paramref name="run"/> is the file's run level (the JSON export without its results array).
    /// </summary>
    public List<FieldRecord> Map(JsonElement result, long recordNumber, Func<string> rawText, JsonElement? run)
    {
        if (result.ValueKind != JsonValueKind.Object)
        {
            return [Reject(recordNumber, rawText, $"result is a JSON {result.ValueKind.ToString().ToLowerInvariant()}, not an object")];
        }

        var scope = run is { } runRoot ? new JsonScope(result, runRoot) : new JsonScope(result);
        var template = new FieldRecord(recordNumber, _schema.Columns.Count);
        _keys.Apply(template, scope);
        template.Set(_schema, "source", Source);

        var caseId = template.Values[_caseIdOrdinal];
        if (caseId is null)
        {
            return [Reject(recordNumber, rawText, $"the result has no case id (none of {string.Join(", ", _caseIdPaths)} has a value)")];
        }

        if (!TryReadMetrics(result, out var metrics, out var problem))
        {
            return [Reject(recordNumber, rawText, problem!)];
        }

        var promptIdx = JsonText.Property(result, "promptIdx") is { ValueKind: JsonValueKind.Number } index ? index.GetRawText() : null;
        var evalId = template.Values[_runIdOrdinal];
        if (evalId is null)
        {
            evalId = _derivedRunId.Value;
            template.AddExtra("eval_run_id_rule", _derivedRunIdRule);
        }
        else
        {
            template.AddExtra("eval_id", evalId);
        }

        var runId = promptIdx is null ? evalId : $"{evalId}#{promptIdx}";
        template.Values[_runIdOrdinal] = runId;

        var completedPrompt = promptIdx is not null && run is { } root && int.TryParse(promptIdx, CultureInfo.InvariantCulture, out var at)
            ? JsonPath.Resolve(root, [new JsonPath.PropertySegment("results"), new JsonPath.PropertySegment("prompts"), new JsonPath.IndexSegment(at)])
            : null;
        var rawModel = template.Values[_modelOrdinal]
            ?? (JsonText.Property(result, "provider") is { ValueKind: JsonValueKind.String } providerText ? JsonText.Of(providerText) : null)
            ?? (completedPrompt is { } prompt && JsonText.Property(prompt, "provider") is { } promptProvider ? JsonText.Of(promptProvider) : null);
        if (rawModel is not null)
        {
            template.Values[_modelOrdinal] = ModelVersions.Normalize(rawModel);
            template.AddExtra("model_raw", rawModel);
        }

        if (template.Values[_promptOrdinal] is null && completedPrompt is { } completed && JsonText.Property(completed, "label") is { } label)
        {
            template.Values[_promptOrdinal] = JsonText.Of(label);
        }

        var epochKey = string.Concat(runId, "\u0001", caseId);
        var epoch = _occurrences[epochKey] = _occurrences.GetValueOrDefault(epochKey) + 1;
        template.Set(_schema, "epoch", epoch.ToString(CultureInfo.InvariantCulture));

        AddResultAttributes(template, result, scope);

        var success = TestPassed(result);
        var rows = new List<FieldRecord>(metrics.Count);
        foreach (var (metric, rawScore) in metrics)
        {
            var row = new FieldRecord(recordNumber, _schema.Columns.Count) { RawText = rawText };
            Array.Copy(template.Values, row.Values, row.Values.Length);
            if (template.Extras is { } extras)
            {
                row.Extras = [.. extras];
            }

            row.Set(_schema, "metric", metric);
            row.Set(_schema, "score", rawScore);
            row.Set(_schema, "raw_score", rawScore);
            var passed = metric == ScoreMetric && !HasNamedScores(result)
                ? (success, GradingReason(result))
                : MetricPassed(result, metric, success);
            row.Set(_schema, "is_passed", passed.Item1 is { } flag ? (flag ? "true" : "false") : null);
            if (passed.Item2 is { } reason)
            {
                row.AddExtra("reason", reason);
            }

            rows.Add(row);
        }

        return rows;
    }

    private FieldRecord Reject(long recordNumber, Func<string> rawText, string reason) =>
        new(recordNumber, _schema.Columns.Count) { ReadError = reason, RawText = rawText };

    /// <summary>The metrics of a result with their scores as text (null: not scored), or why they cannot be read.</summary>
    private static bool TryReadMetrics(JsonElement result, out List<(string Metric, string? Score)> metrics, out string? problem)
    {
        metrics = [];
        problem = null;
        if (!TryScoreText(JsonText.Property(result, "score"), "score", out var overall, out problem))
        {
            return false;
        }

        var named = NamedScores(result, out problem);
        if (problem is not null)
        {
            return false;
        }

        if (named is { } scores)
        {
            foreach (var property in scores.EnumerateObject())
            {
                if (!TryScoreText(property.Value, $"namedScores.{property.Name}", out var text, out problem))
                {
                    return false;
                }

                if (string.IsNullOrWhiteSpace(property.Name))
                {
                    problem = "namedScores has a metric with an empty name";
                    return false;
                }

                metrics.Add((property.Name, text));
            }

            return true;
        }

        if (IsError(result) && DeclaredMetrics(result) is { Count: > 0 } declared)
        {
            metrics.AddRange(declared.Select(metric => (metric, (string?)null)));
            return true;
        }

        metrics.Add((ScoreMetric, overall));
        return true;
    }

    /// <summary>namedScores (or gradingResult.namedScores) when it has entries; null when there are none.</summary>
    private static JsonElement? NamedScores(JsonElement result, out string? problem)
    {
        problem = null;
        foreach (var candidate in new[] { JsonText.Property(result, "namedScores"), GradingResult(result) is { } grading ? JsonText.Property(grading, "namedScores") : null })
        {
            switch (candidate)
            {
                case null or { ValueKind: JsonValueKind.Null }:
                    continue;
                case { ValueKind: JsonValueKind.Object } scores:
                    if (scores.EnumerateObject().Any())
                    {
                        return scores;
                    }

                    continue;
                case { } other:
                    problem = $"namedScores is a JSON {other.ValueKind.ToString().ToLowerInvariant()}, not an object of metric scores";
                    return null;
            }
        }

        return null;
    }

    private static bool HasNamedScores(JsonElement result) => NamedScores(result, out _) is not null;

    private static bool TryScoreText(JsonElement? value, string name, out string? text, out string? problem)
    {
        text = null;
        problem = null;
        switch (value)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return true;
            case { ValueKind: JsonValueKind.Number } number when number.TryGetDouble(out var parsed) && double.IsFinite(parsed):
                text = number.GetRawText();
                return true;
            case { ValueKind: JsonValueKind.String } numeric when numeric.GetString() is { } s
                && double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var fromText) && double.IsFinite(fromText):
                text = s.Trim();
                return true;
            case { ValueKind: JsonValueKind.String } blank when string.IsNullOrWhiteSpace(blank.GetString()):
                return true;
            case { } other:
                var shown = other.GetRawText();
                problem = $"{name} is {(shown.Length <= 60 ? shown : string.Concat(shown.AsSpan(0, 57), "..."))}, not a number";
                return false;
        }
    }

    private static JsonElement? GradingResult(JsonElement result) =>
        JsonText.Property(result, "gradingResult") is { ValueKind: JsonValueKind.Object } grading ? grading : null;

    /// <summary>failureReason 2 (ERROR): the provider or the run failed, nothing was graded.</summary>
    private static bool IsError(JsonElement result) =>
        JsonText.Property(result, "failureReason") is { ValueKind: JsonValueKind.Number } reason && reason.TryGetInt32(out var code) && code == 2;

    /// <summary>The test verdict: success, else gradingResult.pass.</summary>
    private static bool? TestPassed(JsonElement result) =>
        AsBool(JsonText.Property(result, "success")) ?? (GradingResult(result) is { } grading ? AsBool(JsonText.Property(grading, "pass")) : null);

    private static bool? AsBool(JsonElement? value) => value?.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    private static string? GradingReason(JsonElement result) =>
        (GradingResult(result) is { } grading && JsonText.Property(grading, "reason") is { } reason ? JsonText.Of(reason) : null)
        ?? (JsonText.Property(result, "error") is { } error ? JsonText.Of(error) : null);

    /// <summary>The per-metric verdict: every component result tagged with the metric passed; else the test's.</summary>
    private static (bool?, string?) MetricPassed(JsonElement result, string metric, bool? success)
    {
        var components = GradingResult(result) is { } grading ? Components(grading).Where(component => MetricOf(component) == metric).ToList() : [];
        var verdicts = components.Select(component => (Pass: AsBool(JsonText.Property(component, "pass")), Component: component))
            .Where(verdict => verdict.Pass is not null)
            .ToList();
        if (verdicts.Count == 0)
        {
            return (success, GradingReason(result));
        }

        var failed = verdicts.FirstOrDefault(verdict => verdict.Pass == false);
        var explaining = failed.Pass is null ? verdicts[0].Component : failed.Component;
        var reason = JsonText.Property(explaining, "reason") is { } text ? JsonText.Of(text) : null;
        return (failed.Pass is null, reason);
    }

    /// <summary>Component results, with those nested under an assert-set.</summary>
    private static IEnumerable<JsonElement> Components(JsonElement grading)
    {
        if (JsonText.Property(grading, "componentResults") is not { ValueKind: JsonValueKind.Array } components)
        {
            yield break;
        }

        foreach (var component in components.EnumerateArray().Where(component => component.ValueKind == JsonValueKind.Object))
        {
            yield return component;
            foreach (var nested in Components(component))
            {
                yield return nested;
            }
        }
    }

    private static string? MetricOf(JsonElement component) =>
        JsonText.Property(component, "assertion") is { } assertion && JsonText.Property(assertion, "metric") is { ValueKind: JsonValueKind.String } metric
            ? metric.GetString()
            : null;

    /// <summary>Metric names the test's assertions declare (assert-set members included), in order.</summary>
    private static List<string> DeclaredMetrics(JsonElement result)
    {
        var names = new List<string>();
        void Walk(JsonElement? asserts)
        {
            if (asserts is not { ValueKind: JsonValueKind.Array } list)
            {
                return;
            }

            foreach (var assertion in list.EnumerateArray().Where(assertion => assertion.ValueKind == JsonValueKind.Object))
            {
                if (JsonText.Property(assertion, "metric") is { ValueKind: JsonValueKind.String } metric
                    && metric.GetString() is { Length: > 0 } name && !names.Contains(name))
                {
                    names.Add(name);
                }

                Walk(JsonText.Property(assertion, "assert"));
            }
        }

        Walk(JsonText.Property(result, "testCase") is { } testCase ? JsonText.Property(testCase, "assert") : null);
        return names;
    }

    private static void AddResultAttributes(FieldRecord record, JsonElement result, JsonScope scope)
    {
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                record.AddExtra(name, value);
            }
        }

        Add("test_idx", scope.Text("testIdx"));
        Add("prompt_idx", scope.Text("promptIdx"));
        Add("result_id", JsonText.Property(result, "id") is { } id ? JsonText.Of(id) : null);
        Add("test_description", scope.FirstText(["testCase.description", "description"]));
        Add("provider_label", scope.Text("provider.label"));
        Add("judge_model", scope.FirstText(["testCase.options.provider.id", "testCase.options.provider", "config.defaultTest.options.provider.id", "config.defaultTest.options.provider"]));
        Add("test_passed", TestPassed(result) is { } passed ? (passed ? "true" : "false") : null);
        Add("test_score", JsonText.Property(result, "score") is { } score ? JsonText.Of(score) : null);
        Add("failure_reason", JsonText.Property(result, "failureReason") is { } failure ? FailureReasonName(failure) : null);
        Add("error", JsonText.Property(result, "error") is { } error ? JsonText.Of(error) : null);
        Add("promptfoo_version", scope.Text("metadata.promptfooVersion"));
    }

    private static string? FailureReasonName(JsonElement value) => JsonText.Of(value) switch
    {
        "0" => "none",
        "1" => "assert",
        "2" => "error",
        var other => other,
    };
}
