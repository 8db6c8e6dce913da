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
        foreach (var line in Canonical.JsonLines.Read(stream, cancellationToken).Select(entry => (Number: entry.LineNumber, Text: entry.Line)))
        {
            var text = line.Text;
            Func<string> raw = () => text;
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

    public override string Name => FormatName;

    public override string SourceName => LangSmithRunsSource.Tool;

    public override bool Detect(SourceFile file)
    {
        if (!file.Head.StartsWith("PAR1", StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            using var local = LocalParquet.For(file);
            return LangSmithRunParts.LooksLikeRun(ParquetTable.ColumnNames(local.Path).ToList());
        }
        catch (LoadException)
        {
            return false;
        }
    }

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        var appUrl = file.Settings.Option(SourceName, "AppUrl") ?? LangSmithRunParts.DefaultAppUrl;
        using var local = LocalParquet.For(file);
        var names = ParquetTable.ColumnNames(local.Path);
        foreach (var (rowNumber, values) in ParquetTable.Rows(local.Path, cancellationToken))
        {
            var (json, error) = RowJson(names, values);
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

    /// <summary>A row as the run's JSON object: JSON-text columns embedded as JSON, timestamps as ISO-8601 UTC.</summary>
    private static (string? Json, string? Error) RowJson(IReadOnlyList<string> names, object?[] values)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            for (var index = 0; index < names.Count; index++)
            {
                var name = names[index];
                writer.WritePropertyName(name);
                switch (values[index])
                {
                    case null:
                        writer.WriteNullValue();
                        break;
                    case string text when JsonColumns.Contains(name) || name.EndsWith("_details", StringComparison.Ordinal):
                        if (string.IsNullOrWhiteSpace(text))
                        {
                            writer.WriteNullValue();
                            break;
                        }

                        try
                        {
                            using var embedded = JsonDocument.Parse(text);
                            embedded.RootElement.WriteTo(writer);
                        }
                        catch (JsonException parse)
                        {
                            return (null, $"column {name} is not valid JSON ({parse.Message})");
                        }

                        break;
                    case string text:
                        writer.WriteStringValue(text);
                        break;
                    case bool flag:
                        writer.WriteBooleanValue(flag);
                        break;
                    case DateTime time:
                        writer.WriteStringValue(DateTime.SpecifyKind(time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : time, DateTimeKind.Utc)
                            .ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    case DateTimeOffset offset:
                        writer.WriteStringValue(offset.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    case int or long or short:
                        writer.WriteNumberValue(Convert.ToInt64(values[index], System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    case decimal number:
                        writer.WriteNumberValue(number);
                        break;
                    case float or double:
                        var real = Convert.ToDouble(values[index], System.Globalization.CultureInfo.InvariantCulture);
                        if (double.IsFinite(real))
                        {
                            writer.WriteNumberValue(real);
                        }
                        else
                        {
                            writer.WriteNullValue();
                        }

                        break;
                    default:
                        writer.WriteStringValue(Convert.ToString(values[index], System.Globalization.CultureInfo.InvariantCulture));
                        break;
                }
            }

            writer.WriteEndObject();
        }

        return (Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), null);
    }

    /// <summary>The Parquet file on disk: the file itself, or a gzipped one decompressed to a temporary file deleted on dispose.</summary>
    private sealed class LocalParquet : IDisposable
    {
        private readonly bool _temporary;

        private LocalParquet(string path, bool temporary)
        {
            Path = path;
            _temporary = temporary;
        }

        public string Path { get; }

        public static LocalParquet For(SourceFile file)
        {
            if (!file.IsGzip)
            {
                return new LocalParquet(file.Path, temporary: false);
            }

            var temporary = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"warehouse-{Guid.NewGuid():N}.parquet");
            try
            {
                using var input = file.Open();
                using var output = File.Create(temporary);
                input.CopyTo(output);
            }
            catch (InvalidDataException error)
            {
                File.Delete(temporary);
                throw new LoadException($"{file.Path}: the gzip stream is corrupt ({error.Message})");
            }

            return new LocalParquet(temporary, temporary: true);
        }

        public void Dispose()
        {
            if (_temporary)
            {
                try
                {
                    File.Delete(Path);
                }
                catch (IOException)
                {
                    // A temporary file that cannot be deleted is left to the system's temp cleanup.
                }
            }
        }
    }
}
