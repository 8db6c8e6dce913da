using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warehouse.Loading;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.DeepEval;

/// <summary>
/// A DeepEval test run (<c>test_run_&lt;YYYYMMDD_HHMMSS&gt;.json</c>, <c>.deepeval/.latest_run_full.json</c>,
/// or <c>.latest_test_run.json</c> with the run under <c>testRunData</c>): <c>TestRun.model_dump(by_alias=True)</c>,
/// single-line camelCase JSON. One eval_records row per <c>testCases[]</c> item × <c>metricsData[]</c> item.
/// Rules:
/// <list type="bullet">
/// <item><c>testCases[]</c> is streamed; the rest of the run (<c>hyperparameters</c>, <c>identifier</c>,
/// <c>datasetAlias</c>, <c>prompts</c>) is read once and broadcast onto every row.</item>
/// <item>eval_run_id: the run has no id of its own; it is the file name without <c>.json</c>/<c>.gz</c>
/// (<c>test_run_20240912_140329</c>), unless <c>Sources:deepeval:Keys:eval_run_id</c> names paths (e.g. <c>identifier</c>).
/// A run loaded again under another name is another run. <c>identifier</c> is kept in attributes.</item>
/// <item>case_id: <c>metadata.case_id</c>, else <c>name</c> (DeepEval's default is <c>test_case_&lt;order&gt;</c>), else <c>order</c>.</item>
/// <item>score: <c>metricsData[].score</c> (DeepEval metrics are 0..1; a custom metric's score outside 0..1
/// keeps only raw_score); is_passed: the metric's <c>success</c> (<c>score &gt;= threshold</c>, an errored metric
/// is false), derived from <c>threshold</c> when absent. A metric that errored has a null score and its
/// error in attributes. A score that is not a number rejects the test case.</item>
/// <item>evaluated_at: the <c>test_run_YYYYMMDD_HHMMSS</c> time in the file name (DeepEval writes local time; read as UTC).</item>
/// </list>
/// Conversational test cases (<c>conversationalTestCases[]</c>) are not read.
/// </summary>
public sealed partial class DeepEvalJsonSource : SourceFormat
{
    public const string FormatName = "deepeval-json";
    public const string Tool = "deepeval";

    public override string Name => FormatName;

    public override string SourceName => Tool;

    public override string Kind => "eval";

    private static readonly string[] RunKeys =
        ["conversationalTestCases", "metricsScores", "hyperparameters", "testPassed", "testFailed", "identifier", "evaluationCost", "runDuration"];

    public static readonly string[] DefaultCaseIdPaths = ["metadata.case_id", "name", "order"];

    public static IReadOnlyDictionary<string, string[]> DefaultKeyPaths { get; } = BuildDefaults();

    private static Dictionary<string, string[]> BuildDefaults()
    {
        var defaults = KeyMapping.MetadataDefaults(
            [.. TableSchema.VersionKeys, .. TableSchema.SliceLabels.Where(label => label != "context_band"), "dataset_id", "dataset_version", "judge_version"],
            "metadata", "hyperparameters");
        defaults["model_version"] = ["metadata.model_version", "metadata.model", "hyperparameters.model_version", "hyperparameters.model"];
        defaults["prompt_version"] = [.. defaults["prompt_version"], "prompts[0].version"];
        defaults["dataset_id"] = [.. defaults["dataset_id"], "datasetAlias", "datasetId"];
        return defaults;
    }

    public override bool Detect(SourceFile file)
    {
        if (file.TopLevelKeys.Contains("testRunData"))
        {
            return file.Head.Contains("\"testCases\"", StringComparison.Ordinal);
        }

        // A big run's first line is longer than the probe: then only "testCases" shows, and the
        // test case fields vouch for it.
        return file.TopLevelKeys.Contains("testCases")
            && (RunKeys.Any(file.TopLevelKeys.Contains) || file.Head.Contains("\"metricsData\"", StringComparison.Ordinal));
    }

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        string[] arrayPath = file.TopLevelKeys.Contains("testRunData") ? ["testRunData", "testCases"] : ["testCases"];
        using var whole = ReadRunLevel(file, arrayPath);
        var run = arrayPath.Length == 2 && JsonText.Property(whole.RootElement, "testRunData") is { ValueKind: JsonValueKind.Object } nested
            ? nested
            : whole.RootElement;

        var fileStem = FileStem(file.Path);
        var runScope = new JsonScope(run);
        var runIdPaths = file.Settings.KeyPaths(Tool, "eval_run_id", []);
        var runId = runScope.FirstText(runIdPaths) ?? fileStem;
        var evaluatedAt = TimestampOf(fileStem);
        var caseIdPaths = file.Settings.KeyPaths(Tool, "case_id", DefaultCaseIdPaths);
        var keys = new KeyMapping(schema, Tool, file.Settings, DefaultKeyPaths);
        var identifier = runScope.Text("identifier");

        using var stream = file.Open();
        long index = 0;
        foreach (var testCase in JsonDocuments.ArrayItems(stream, arrayPath))
        {
            cancellationToken.ThrowIfCancellationRequested();
            index++;
            foreach (var record in RowsOf(testCase, run, schema, keys, caseIdPaths, runIdPaths, runId, evaluatedAt, identifier, index))
            {
                yield return record;
            }
        }
    }

    private static JsonDocument ReadRunLevel(SourceFile file, string[] arrayPath)
    {
        using var stream = file.Open();
        // conversationalTestCases are not read; left empty so the run-level pass stays small.
        var conversational = arrayPath.Length > 1 ? new[] { arrayPath[0], "conversationalTestCases" } : ["conversationalTestCases"];
        return JsonDocuments.WithoutArrays(stream, [arrayPath, conversational]);
    }

    private static IEnumerable<FieldRecord> RowsOf(JsonElement testCase, JsonElement run, TableSchema schema, KeyMapping keys,
        IReadOnlyList<string> caseIdPaths, IReadOnlyList<string> runIdPaths, string runId, string? evaluatedAt, string? identifier, long index)
    {
        var raw = () => testCase.GetRawText();
        FieldRecord Reject(string reason) => new(index, schema.Columns.Count) { ReadError = reason, RawText = raw };

        if (testCase.ValueKind != JsonValueKind.Object)
        {
            return [Reject($"test case is a JSON {testCase.ValueKind.ToString().ToLowerInvariant()}, not an object")];
        }

        var scope = new JsonScope(testCase, run);
        var own = new JsonScope(testCase);
        var caseId = own.FirstText(caseIdPaths);
        if (caseId is null)
        {
            return [Reject($"test case has no case id (looked in {string.Join(", ", caseIdPaths)})")];
        }

        var caseRunId = runIdPaths.Count > 0 ? own.FirstText(runIdPaths) ?? runId : runId;
        if (JsonText.Property(testCase, "metricsData") is not { ValueKind: JsonValueKind.Array } metrics || metrics.GetArrayLength() == 0)
        {
            return [Reject($"test case {caseId} has no metricsData")];
        }

        var rows = new List<(string Name, string? Score, string? Raw, string? Passed, JsonElement Metric)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var metric in metrics.EnumerateArray())
        {
            if (metric.ValueKind != JsonValueKind.Object || JsonText.Property(metric, "name") is not { } nameElement
                || JsonText.Of(nameElement) is not { } name)
            {
                return [Reject($"test case {caseId} has a metric without a name")];
            }

            if (!names.Add(name))
            {
                return [Reject($"test case {caseId} has metric '{name}' twice")];
            }

            string? score = null, rawScore = null;
            double? value = null;
            switch (JsonText.Property(metric, "score"))
            {
                case null or { ValueKind: JsonValueKind.Null }:
                    break;
                case { ValueKind: JsonValueKind.Number } number when number.TryGetDouble(out var parsed) && double.IsFinite(parsed):
                    rawScore = number.GetRawText();
                    value = parsed;
                    score = parsed is >= 0 and <= 1 ? rawScore : null;
                    break;
                case { } other:
                    return [Reject($"test case {caseId}: metric '{name}' has score {Shorten(other.GetRawText())}, not a number")];
            }

            string? passed;
            switch (JsonText.Property(metric, "success"))
            {
                case { ValueKind: JsonValueKind.True }:
                    passed = "true";
                    break;
                case { ValueKind: JsonValueKind.False }:
                    passed = "false";
                    break;
                case null or { ValueKind: JsonValueKind.Null }:
                    passed = JsonText.Property(metric, "error") is { ValueKind: JsonValueKind.String }
                        ? "false"
                        : value is { } v && JsonText.Property(metric, "threshold") is { ValueKind: JsonValueKind.Number } threshold
                            ? (v >= threshold.GetDouble() ? "true" : "false")
                            : null;
                    break;
                case { } other:
                    return [Reject($"test case {caseId}: metric '{name}' has success {Shorten(other.GetRawText())}, not true or false")];
            }

            rows.Add((name, score, rawScore, passed, metric));
        }

        var records = new List<FieldRecord>(rows.Count);
        foreach (var (name, score, rawScore, passed, metric) in rows)
        {
            var record = new FieldRecord(index, schema.Columns.Count) { RawText = raw };
            record.Set(schema, "source", Tool);
            record.Set(schema, "eval_run_id", caseRunId);
            record.Set(schema, "case_id", caseId);
            record.Set(schema, "metric", name);
            record.Set(schema, "score", score);
            record.Set(schema, "raw_score", rawScore);
            record.Set(schema, "is_passed", passed);
            record.Set(schema, "latency_ms", Milliseconds(JsonText.Property(testCase, "completionTime")));
            record.Set(schema, "cost_usd", NumberText(JsonText.Property(testCase, "tokenCost")));
            record.Set(schema, "evaluated_at", evaluatedAt);
            keys.Apply(record, scope);
            NormalizeModel(schema, record);

            AddExtra(record, "threshold", JsonText.Property(metric, "threshold"));
            AddExtra(record, "judge_model", JsonText.Property(metric, "evaluationModel"));
            AddExtra(record, "strict_mode", JsonText.Property(metric, "strictMode"));
            AddExtra(record, "reason", JsonText.Property(metric, "reason"), 1000);
            AddExtra(record, "error", JsonText.Property(metric, "error"), 1000);
            AddExtra(record, "evaluation_cost_usd", JsonText.Property(metric, "evaluationCost"));
            AddExtra(record, "judge_input_tokens", JsonText.Property(metric, "inputTokenCount"));
            AddExtra(record, "judge_output_tokens", JsonText.Property(metric, "outputTokenCount"));
            AddExtra(record, "test_case_name", JsonText.Property(testCase, "name"));
            AddExtra(record, "test_case_success", JsonText.Property(testCase, "success"));
            AddExtra(record, "run_duration_s", JsonText.Property(testCase, "runDuration"));
            if (identifier is not null)
            {
                record.AddExtra("identifier", identifier);
            }

            records.Add(record);
        }

        return records;
    }

    private static void AddExtra(FieldRecord record, string name, JsonElement? value, int maxLength = 200)
    {
        if (value is { } element && JsonText.Of(element) is { } text)
        {
            record.AddExtra(name, text.Length <= maxLength ? text : string.Concat(text.AsSpan(0, maxLength - 3), "..."));
        }
    }

    private static void NormalizeModel(TableSchema schema, FieldRecord record)
    {
        var ordinal = schema.Ordinal("model_version");
        if (record.Values[ordinal] is { } raw)
        {
            record.Values[ordinal] = ModelVersions.Normalize(raw);
            record.AddExtra("model_raw", raw);
        }
    }

    private static string? NumberText(JsonElement? value) =>
        value is { ValueKind: JsonValueKind.Number } number ? number.GetRawText() : null;

    private static string? Milliseconds(JsonElement? seconds) =>
        seconds is { ValueKind: JsonValueKind.Number } number && number.TryGetDecimal(out var value)
            ? (value * 1000m).ToString("0.############", CultureInfo.InvariantCulture)
            : null;

    /// <summary>The file name without folders and without its .gz and .json extensions.</summary>
    internal static string FileStem(string path)
    {
        var name = Path.GetFileName(path);
        foreach (var extension in new[] { ".gz", ".json" })
        {
            if (name.EndsWith(extension, StringComparison.OrdinalIgnoreCase) && name.Length > extension.Length)
            {
                name = name[..^extension.Length];
            }
        }

        return name;
    }

    private static string? TimestampOf(string stem) =>
        RunTimestamp().Match(stem) is { Success: true } match
        && DateTime.TryParseExact(match.Groups[1].Value, "yyyyMMdd_HHmmss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)
            ? at.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture)
            : null;

    [GeneratedRegex(@"(\d{8}_\d{6})")]
    private static partial Regex RunTimestamp();

    private static string Shorten(string text) => text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 57), "...");
}
