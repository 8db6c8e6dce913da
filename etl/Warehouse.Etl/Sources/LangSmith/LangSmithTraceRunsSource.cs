using System.Text;
using System.Text.Json;
using Warehouse.Loading;
using Warehouse.Sources.Parquet;
using Warehouse.Traces;

namespace Warehouse.Sources.LangSmith;

/// <summary>
/// LangSmith production runs as JSON Lines (`client.list_runs(project_name=…)` or `client.runs.query(…)`
/// written one run per line, legacy or SmithDB shape): every run is a span of its trace. Runs of an
/// experiment (a non-null `reference_example_id` in the first 64 KiB) are left to the eval adapter.
/// </summary>
public sealed class LangSmithTraceRunsSource : TracePartFormat
{
    public const string FormatName = "langsmith-trace-runs-jsonl";

    public override string Name => FormatName;

    public override string SourceName => LangSmithRunsSource.Tool;

    public override bool Detect(SourceFile file) =>
        file.FirstLineIsJsonObject
        && LangSmithRunParts.LooksLikeRun(file.TopLevelKeys.ToList())
        && !LangSmithRunsSource.ShowsReferenceExample(file.Head);

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        var appUrl = file.Settings.Option(SourceName, "AppUrl") ?? LangSmithRunParts.DefaultAppUrl;
        using var stream = file.Open();
        foreach (var line in Canonical.JsonLines.ReadChecked(stream, Canonical.JsonLines.MaxLineBytes, cancellationToken))
        {
            var text = line.Text;
            Func<string> raw = () => text;
            if (line.Problem is { } problem)
            {
                yield return PartRecord.Reject(line.Number, problem, raw);
                continue;
            }

            var (document, parseError) = LangSmithTraceValues.ParseLine(text);
            if (document is null)
            {
                yield return PartRecord.Reject(line.Number, parseError!, raw);
                continue;
            }

            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    yield return PartRecord.Reject(line.Number, $"line is a JSON {LangSmithTraceValues.Kind(document.RootElement)}, not a run object", raw);
                    continue;
                }

                var (parts, reason) = LangSmithRunParts.Read(document.RootElement, rules, appUrl);
                if (parts is null)
                {
                    yield return PartRecord.Reject(line.Number, reason!, raw);
                    continue;
                }

                foreach (var part in parts)
                {
                    yield return new PartRecord(line.Number, part, raw);
                }
            }
        }
    }
}

/// <summary>
/// LangSmith bulk export (Parquet files in S3-compatible storage, "matching the fields in the Run
/// data format"): one run per row, the same fields as the JSON form. Object columns (`extra`,
/// `inputs`, `outputs`, `feedback_stats`, …) are read as JSON text; a gzipped file is decompressed
/// to a temporary file first (Parquet needs a seekable file).
/// </summary>
public sealed class LangSmithTraceRunsParquetSource : TracePartFormat
{
    public const string FormatName = "langsmith-trace-runs-parquet";

    /// <summary>Columns whose text is JSON (objects or lists) in an export.</summary>
    private static readonly HashSet<string> JsonColumns = new(StringComparer.Ordinal)
    {
        "extra", "inputs", "outputs", "events", "feedback_stats", "metadata", "parent_run_ids", "child_run_ids", "direct_child_run_ids",
        "tags", "serialized", "manifest", "attachments",
    };

    /// <summary>A row as the run's JSON object: JSON-text columns embedded as JSON, timestamps as ISO-8601 UTC.</summary>
    private static readonly ParquetJsonOptions RunJson = new()
    {
        Text = WriteText,
        Time = time => DateTime.SpecifyKind(time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : time, DateTimeKind.Utc)
            .ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        SingleAsDouble = true,
    };

    public override string Name => FormatName;

    public override string SourceName => LangSmithRunsSource.Tool;

    public override bool Detect(SourceFile file)
    {
        if (!ParquetFile.LooksLikeParquet(file))
        {
            return false;
        }

        try
        {
            using var parquet = ParquetFile.Open(file);
            return LangSmithRunParts.LooksLikeRun(parquet.ColumnNames().ToList());
        }
        catch (LoadException)
        {
            return false;
        }
    }

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        var appUrl = file.Settings.Option(SourceName, "AppUrl") ?? LangSmithRunParts.DefaultAppUrl;
        using var parquet = ParquetFile.Open(file);
        var names = parquet.ColumnNames();
        foreach (var (rowNumber, values) in parquet.Rows(cancellationToken))
        {
            string? json = null;
            string? error = null;
            try
            {
                json = ParquetJson.Object(names, values, RunJson);
            }
            catch (ColumnNotJson problem)
            {
                error = problem.Message;
            }

            Func<string> raw = () => json ?? string.Join(",", values.Select(value => value?.ToString()));
            if (json is null)
            {
                yield return PartRecord.Reject(rowNumber, error!, raw);
                continue;
            }

            using var document = JsonDocument.Parse(json);
            var (parts, reason) = LangSmithRunParts.Read(document.RootElement, rules, appUrl);
            if (parts is null)
            {
                yield return PartRecord.Reject(rowNumber, reason!, raw);
                continue;
            }

            foreach (var part in parts)
            {
                yield return new PartRecord(rowNumber, part, raw);
            }
        }
    }

    private static void WriteText(Utf8JsonWriter writer, string name, string text)
    {
        if (!JsonColumns.Contains(name) && !name.EndsWith("_details", StringComparison.Ordinal))
        {
            writer.WriteStringValue(text);
            return;
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            writer.WriteNullValue();
            return;
        }

        try
        {
            using var embedded = JsonDocument.Parse(text);
            embedded.RootElement.WriteTo(writer);
        }
        catch (JsonException parse)
        {
            throw new ColumnNotJson($"column {name} is not valid JSON ({parse.Message})");
        }
    }

    private sealed class ColumnNotJson(string message) : Exception(message);
}
