using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warehouse.Loading;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.Mlflow;

/// <summary>
/// MLflow's <c>eval_results_table.json</c> from <c>mlflow.evaluate()</c>: a pandas DataFrame written with
/// <c>to_json(orient="split")</c>, <c>{"columns": [...], "data": [[...], ...]}</c> (an <c>index</c> array is
/// tolerated and ignored). One eval_records row per data row × <c>&lt;metric&gt;/&lt;version&gt;/score</c> column.
/// Rules:
/// <list type="bullet">
/// <item>Each data row is read as an object keyed by column name, so key paths are column names
/// (<c>feature</c>, <c>customer_tier</c>, <c>prompt_version</c>); <c>\/</c> and <c>\uXXXX</c> are ordinary JSON escapes.</item>
/// <item>metric: the column name without <c>/&lt;version&gt;/score</c> (<c>toxicity</c>); when one table has two
/// versions of a metric, both keep their version (<c>toxicity/v1</c>). The version and the
/// <c>&lt;metric&gt;/&lt;version&gt;/justification</c> text go to attributes.</item>
/// <item>score: MLflow's LLM-judged metrics (answer_similarity, answer_correctness, answer_relevance, relevance,
/// faithfulness) are 1..5 and become (s − 1) / 4; a score already in 0..1 (toxicity) is kept; anything else
/// (readability grade levels) keeps only raw_score. A null score (pandas NaN: the metric failed) is no row;
/// a score that is not a number rejects the data row. is_passed stays null: the table carries no pass rule.</item>
/// <item>case_id: the <c>case_id</c> column (<c>Sources:mlflow:Keys:case_id</c>); a row with the column empty is
/// rejected; a table without the column uses the 0-based row position (the DataFrame's index).</item>
/// <item>eval_run_id: the table holds no run id. A <c>run_id</c> column (<c>Sources:mlflow:Keys:eval_run_id</c>),
/// else a 32-hex MLflow run id among the file's folders (<c>mlruns/&lt;exp&gt;/&lt;run_id&gt;/artifacts/...</c>), else the
/// file name without <c>.json</c>/<c>.gz</c>: the same table saved under another name is another run.</item>
/// <item><c>token_count</c> (tokens of the output) is output_tokens; <c>latency</c> (seconds) is latency_ms.</item>
/// </list>
/// Run params and tags are not in the artifact; run-level keys must be columns or come from configuration paths.
/// </summary>
public sealed partial class MlflowTableJsonSource : SourceFormat
{
    public const string FormatName = "mlflow-table-json";
    public const string Tool = "mlflow";

    public override string Name => FormatName;

    public override string SourceName => Tool;

    public override string Kind => "eval";

    private static readonly HashSet<string> OneToFiveMetrics = new(StringComparer.Ordinal)
    {
        "answer_similarity", "answer_correctness", "answer_relevance", "relevance", "faithfulness",
    };

    /// <summary>Columns that hold model inputs and outputs: text, not metadata.</summary>
    private static readonly HashSet<string> TextColumns = new(StringComparer.Ordinal)
    {
        "inputs", "input", "outputs", "output", "predictions", "ground_truth", "targets", "context", "question", "answer",
    };

    public static readonly string[] DefaultCaseIdPaths = ["case_id"];

    public static readonly string[] DefaultRunIdPaths = ["run_id"];

    public static IReadOnlyDictionary<string, string[]> DefaultKeyPaths { get; } = BuildDefaults();

    private static Dictionary<string, string[]> BuildDefaults()
    {
        var defaults = new[] { "model_version", "prompt_version", "retriever_version", "guardrail_version", "experiment_bucket",
                "dataset_id", "dataset_version", "judge_version", "feature", "intent", "language", "customer_tier", "output_format" }
            .ToDictionary(key => key, key => new[] { key });
        defaults["model_version"] = ["model_version", "model"];
        return defaults;
    }

    public override bool Detect(SourceFile file) =>
        file.TopLevelKeys.Contains("columns") && file.TopLevelKeys.Contains("data")
        && file.TopLevelKeys.All(key => key is "columns" or "data" or "index")
        && ScoreColumn().IsMatch(file.Head);

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken) =>
        ReadTable(file, schema, ReadColumns(file), DataRows(file, cancellationToken));

    /// <summary>True when some column is an MLflow metric score column (`&lt;metric&gt;/vN/score`).</summary>
    internal static bool HasMetricColumns(IReadOnlyList<string> columns) => MetricColumns(columns).Count > 0;

    /// <summary>The table's rows (each a JSON array in column order) to eval rows; shared by the JSON and Parquet forms.</summary>
    internal static IEnumerable<FieldRecord> ReadTable(SourceFile file, TableSchema schema, IReadOnlyList<string> columns, IEnumerable<JsonElement> dataRows)
    {
        var metrics = MetricColumns(columns);
        var caseIdPaths = file.Settings.KeyPaths(Tool, "case_id", DefaultCaseIdPaths);
        var runIdPaths = file.Settings.KeyPaths(Tool, "eval_run_id", DefaultRunIdPaths);
        var columnSet = columns.ToHashSet(StringComparer.Ordinal);
        var tableHasCaseId = caseIdPaths.Any(path => FirstSegment(path) is { } first && columnSet.Contains(first));
        var (fileRunId, runIdSource) = RunIdFromPath(file.Path);
        var keys = new KeyMapping(schema, Tool, file.Settings, DefaultKeyPaths);
        var mapped = DefaultKeyPaths.Values.SelectMany(paths => paths).Concat(caseIdPaths).Concat(runIdPaths)
            .Select(FirstSegment).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var extraColumns = columns.Where(column => !metrics.Any(metric => metric.Column == column || metric.Justification == column)
            && !TextColumns.Contains(column) && !mapped.Contains(column) && column is not ("token_count" or "latency")).ToList();

        long index = 0;
        foreach (var item in dataRows)
        {
            index++;
            var rowNumber = index;
            var raw = () => item.GetRawText();
            FieldRecord Reject(string reason) => new(rowNumber, schema.Columns.Count) { ReadError = reason, RawText = raw };

            if (item.ValueKind != JsonValueKind.Array)
            {
                yield return Reject($"data row is a JSON {item.ValueKind.ToString().ToLowerInvariant()}, not an array");
                continue;
            }

            if (item.GetArrayLength() != columns.Count)
            {
                yield return Reject($"data row has {item.GetArrayLength()} values for {columns.Count} columns");
                continue;
            }

            using var row = RowObject(columns, item);
            var scope = new JsonScope(row.RootElement);
            var caseId = scope.FirstText(caseIdPaths) ?? (tableHasCaseId ? null : (rowNumber - 1).ToString(CultureInfo.InvariantCulture));
            if (caseId is null)
            {
                yield return Reject($"row has no case id (column {string.Join(", ", caseIdPaths)} is empty)");
                continue;
            }

            var runId = scope.FirstText(runIdPaths) ?? fileRunId;
            var usable = new List<(MetricColumn Metric, string? Score, string Raw)>();
            var skipped = new List<string>();
            string? problem = null;
            foreach (var metric in metrics)
            {
                var value = row.RootElement.GetProperty(metric.Column);
                switch (value.ValueKind)
                {
                    case JsonValueKind.Null:
                        skipped.Add(metric.Name);
                        break;
                    case JsonValueKind.Number when value.TryGetDouble(out var number) && double.IsFinite(number):
                        var normalised = Normalise(metric.BaseName, number);
                        if (normalised is null && OneToFiveMetrics.Contains(metric.BaseName))
                        {
                            problem ??= $"{metric.Column} is {value.GetRawText()}, outside MLflow's 1..5 scale";
                        }

                        usable.Add((metric, normalised?.ToString("R", CultureInfo.InvariantCulture), value.GetRawText()));
                        break;
                    default:
                        problem ??= $"{metric.Column} is {Shorten(value.GetRawText())}, not a number";
                        break;
                }
            }

            if (problem is not null)
            {
                yield return Reject(problem);
                continue;
            }

            if (usable.Count == 0)
            {
                yield return Reject(skipped.Count > 0
                    ? $"every metric is empty on this row ({string.Join(", ", skipped)})"
                    : "the table has no <metric>/<version>/score column");
                continue;
            }

            foreach (var (metric, score, rawScore) in usable)
            {
                var record = new FieldRecord(rowNumber, schema.Columns.Count) { RawText = raw };
                record.Set(schema, "source", Tool);
                record.Set(schema, "eval_run_id", runId);
                record.Set(schema, "case_id", caseId);
                record.Set(schema, "metric", metric.Name);
                record.Set(schema, "score", score);
                record.Set(schema, "raw_score", rawScore);
                record.Set(schema, "output_tokens", scope.Text("token_count"));
                record.Set(schema, "latency_ms", Milliseconds(scope.Find("latency")));
                keys.Apply(record, scope);
                var model = schema.Ordinal("model_version");
                if (record.Values[model] is { } rawModel)
                {
                    record.Values[model] = ModelVersions.Normalize(rawModel);
                    record.AddExtra("model_raw", rawModel);
                }

                record.AddExtra("metric_version", metric.Version);
                if (metric.Justification is not null && JsonText.Of(row.RootElement.GetProperty(metric.Justification)) is { } justification)
                {
                    record.AddExtra("justification", Cap(justification, 1000));
                }

                if (scope.FirstText(runIdPaths) is null)
                {
                    record.AddExtra("run_id_from", runIdSource);
                }

                if (skipped.Count > 0)
                {
                    record.AddExtra("skipped_metrics", string.Join(",", skipped));
                }

                foreach (var column in extraColumns)
                {
                    if (JsonText.Of(row.RootElement.GetProperty(column)) is { Length: <= 200 } text)
                    {
                        record.AddExtra(column, text);
                    }
                }

                yield return record;
            }
        }
    }

    /// <summary>A metric's score on 0..1, or null when its scale is not known to be 0..1 or 1..5.</summary>
    private static double? Normalise(string metric, double value)
    {
        if (OneToFiveMetrics.Contains(metric))
        {
            return value is >= 1 and <= 5 ? (value - 1) / 4 : null;
        }

        return value is >= 0 and <= 1 ? value : null;
    }

    private sealed record MetricColumn(string Column, string Name, string BaseName, string Version, string? Justification);

    private static List<MetricColumn> MetricColumns(IReadOnlyList<string> columns)
    {
        var found = columns.Select(column => (Column: column, Match: MetricScoreColumn().Match(column)))
            .Where(pair => pair.Match.Success)
            .Select(pair => (pair.Column, Base: pair.Match.Groups["metric"].Value, Version: pair.Match.Groups["version"].Value))
            .ToList();
        var duplicated = found.GroupBy(metric => metric.Base, StringComparer.Ordinal).Where(group => group.Count() > 1)
            .Select(group => group.Key).ToHashSet(StringComparer.Ordinal);
        var names = columns.ToHashSet(StringComparer.Ordinal);
        return found.Select(metric => new MetricColumn(
                metric.Column,
                duplicated.Contains(metric.Base) ? $"{metric.Base}/{metric.Version}" : metric.Base,
                metric.Base,
                metric.Version,
                names.Contains($"{metric.Base}/{metric.Version}/justification") ? $"{metric.Base}/{metric.Version}/justification" : null))
            .ToList();
    }

    /// <summary>The <c>columns</c> array (wherever it stands in the document), checked for names that repeat.</summary>
    private static List<string> ReadColumns(SourceFile file)
    {
        using var stream = new NonFiniteNumberStream(file.Open());
        var columns = new List<string>();
        foreach (var column in JsonDocuments.ArrayItems(stream, ["columns"]))
        {
            columns.Add(column.ValueKind == JsonValueKind.String
                ? column.GetString()!
                : throw new JsonException($"column {columns.Count + 1} is a JSON {column.ValueKind.ToString().ToLowerInvariant()}, not a name"));
        }

        if (columns.Count == 0)
        {
            throw new LoadException($"{file.Path}: the table has no columns");
        }

        if (columns.GroupBy(column => column, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1) is { } repeated)
        {
            throw new LoadException($"{file.Path}: the table has two columns named '{repeated.Key}'");
        }

        return columns;
    }

    /// <summary>The items of <c>data</c>, reading the document to its end so that a truncated file fails.</summary>
    private static IEnumerable<JsonElement> DataRows(SourceFile file, CancellationToken cancellationToken)
    {
        using var stream = new NonFiniteNumberStream(file.Open());
        using var tokens = new JsonTokenStream(stream);
        if (!tokens.TryReadToken(out var first, out _) || first != JsonTokenType.StartObject)
        {
            throw new JsonException("the document is not a JSON object");
        }

        while (true)
        {
            if (!tokens.TryReadToken(out var token, out var name))
            {
                throw new JsonException("the document ends before its closing brace");
            }

            if (token == JsonTokenType.EndObject)
            {
                break;
            }

            if (name != "data")
            {
                tokens.SkipValue();
                continue;
            }

            if (!tokens.TryReadToken(out var start, out _) || start != JsonTokenType.StartArray)
            {
                throw new JsonException("\"data\" is not an array");
            }

            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var item = tokens.ReadValueOrEnd(out var ended);
                if (ended)
                {
                    break;
                }

                yield return item;
            }
        }

        if (tokens.TryReadToken(out var trailing, out _))
        {
            throw new JsonException($"unexpected {trailing} after the document");
        }
    }

    private static JsonDocument RowObject(IReadOnlyList<string> columns, JsonElement values)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            var index = 0;
            foreach (var value in values.EnumerateArray())
            {
                writer.WritePropertyName(columns[index++]);
                value.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        return JsonDocument.Parse(buffer.ToArray());
    }

    /// <summary>A 32-hex MLflow run id among the file's folders (the mlruns layout), else the file name's stem.</summary>
    internal static (string RunId, string Source) RunIdFromPath(string path)
    {
        var full = Path.GetFullPath(path);
        var folders = Path.GetDirectoryName(full)?.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries) ?? [];
        for (var index = folders.Length - 1; index >= 0; index--)
        {
            if (RunIdFolder().IsMatch(folders[index]))
            {
                return (folders[index], "path");
            }
        }

        var name = Path.GetFileName(full);
        foreach (var extension in new[] { ".gz", ".json", ".parquet" })
        {
            if (name.EndsWith(extension, StringComparison.OrdinalIgnoreCase) && name.Length > extension.Length)
            {
                name = name[..^extension.Length];
            }
        }

        return (name, "file_name");
    }

    private static string? FirstSegment(string path) =>
        JsonPath.Parse(path) is [JsonPath.PropertySegment { Name: var name }, ..] ? name : null;

    private static string? Milliseconds(JsonElement? seconds) =>
        seconds is { ValueKind: JsonValueKind.Number } number && number.TryGetDecimal(out var value)
            ? (value * 1000m).ToString("0.############", CultureInfo.InvariantCulture)
            : null;

    private static string Cap(string text, int length) => text.Length <= length ? text : string.Concat(text.AsSpan(0, length - 3), "...");

    private static string Shorten(string text) => Cap(text, 60);

    [GeneratedRegex(@"^(?<metric>.+)/(?<version>v\d+)/score$")]
    private static partial Regex MetricScoreColumn();

    /// <summary>A score column name as the probe sees it: <c>/</c> may be written <c>\/</c>.</summary>
    [GeneratedRegex(@"""[^""]+\\?/v\d+\\?/score""")]
    private static partial Regex ScoreColumn();

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex RunIdFolder();
}
