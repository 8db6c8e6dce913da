using System.Globalization;
using System.Text.Json;
using Warehouse.Loading;
using Warehouse.Sources.Parquet;
using Warehouse.Traces;

namespace Warehouse.Sources.Phoenix;

/// <summary>
/// A Phoenix trace dataset saved as Parquet (`px.Client().get_trace_dataset().save(dir)` →
/// `trace_dataset-&lt;uuid&gt;.parquet`): the spans DataFrame, one row per span, with columns `name,
/// span_kind, parent_id, start_time, end_time, status_code, status_message, events,
/// context.span_id, context.trace_id, attributes.*`. Each row is turned back into the REST span
/// object (`attributes.X` columns → attribute X; dict and list columns, as structs/lists or as JSON
/// text, flattened as REST flattens them) and read by the same rules as the JSON spans, so both
/// exports of a trace give the same row. Flat files are read a row group at a time through
/// <see cref="ParquetTable"/>; files with nested columns (what pandas writes for dicts and lists) a
/// row group at a time through <see cref="ParquetTable.NestedRows"/>; values are written by <see cref="ParquetJson"/>.
/// </summary>
public sealed class PhoenixTraceDatasetParquetSource : TracePartFormat
{
    public const string FormatName = "phoenix-trace-dataset-parquet";

    private static readonly string[] RequiredColumns = ["context.span_id", "context.trace_id", "span_kind"];

    /// <summary>Top-level span fields the DataFrame keeps as columns of their own.</summary>
    private static readonly string[] SpanColumns = ["name", "span_kind", "parent_id", "start_time", "end_time", "status_code", "status_message"];

    /// <summary>
    /// Values as the REST API writes them: times ISO 8601 UTC (int64 milliseconds in a time column
    /// too), binary base64, null struct and map entries left out. Text stays text in <see cref="Plain"/>;
    /// <see cref="Structured"/> (events and attributes) embeds dicts and lists written as JSON text.
    /// </summary>
    private static readonly ParquetJsonOptions Plain = new()
    {
        Time = time => (time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : DateTime.SpecifyKind(time, DateTimeKind.Utc))
            .ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture),
        Value = (name, value) => value is long milliseconds && (name is "start_time" or "end_time" || name.EndsWith("timestamp", StringComparison.Ordinal))
            ? DateTime.UnixEpoch.AddMilliseconds(milliseconds)
            : value,
        BinaryAsBase64 = true,
        NullEntries = false,
    };

    private static readonly ParquetJsonOptions Structured = Plain with { Text = WriteText };

    public override string Name => FormatName;

    public override string SourceName => PhoenixSpans.Store;

    public override bool Detect(SourceFile file) =>
        ParquetTable.IsParquet(file) && ParquetTable.TopLevelColumnNames(file.Path, file.Path) is var columns && RequiredColumns.All(columns.Contains);

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        foreach (var (rowNumber, row) in Rows(file.Path, cancellationToken))
        {
            string? json = null;
            TracePart? part = null;
            string? problem = null;
            try
            {
                json = SpanJson(row);
            }
            catch (RecordProblem error)
            {
                problem = error.Message;
            }

            if (json is null)
            {
                var text = string.Join(", ", row.Select(pair => $"{pair.Key}={pair.Value}"));
                yield return PartRecord.Reject(rowNumber, problem!, () => text);
                continue;
            }

            using (var document = JsonDocument.Parse(json))
            {
                try
                {
                    part = PhoenixSpans.Read(document.RootElement, rules);
                }
                catch (RecordProblem error)
                {
                    problem = PhoenixSpansJsonSource.SpanLabel(document.RootElement) + error.Message;
                }
            }

            yield return part is null ? PartRecord.Reject(rowNumber, problem!, () => json!) : new PartRecord(rowNumber, part, () => json!);
        }
    }

    /// <summary>Each row as column name → value (nulls left out), a row group at a time.</summary>
    private static IEnumerable<(long RowNumber, IReadOnlyDictionary<string, object?> Row)> Rows(string path, CancellationToken cancellationToken)
    {
        if (ParquetTable.HasNestedColumns(path))
        {
            foreach (var (rowNumber, _, row) in ParquetTable.NestedRows(path, cancellationToken))
            {
                yield return (rowNumber, row);
            }

            yield break;
        }

        var names = ParquetTable.ColumnNames(path);
        foreach (var (rowNumber, values) in ParquetTable.Rows(path, cancellationToken))
        {
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var column = 0; column < names.Count; column++)
            {
                if (values[column] is not null)
                {
                    row[names[column]] = values[column];
                }
            }

            yield return (rowNumber, row);
        }
    }

    /// <summary>The row as the REST span object.</summary>
    private static string SpanJson(IReadOnlyDictionary<string, object?> row)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var column in SpanColumns)
            {
                if (row.TryGetValue(column, out var value) && value is not null)
                {
                    writer.WritePropertyName(column);
                    ParquetJson.WriteValue(writer, value, column, Plain);
                }
            }

            writer.WriteStartObject("context");
            foreach (var column in new[] { "trace_id", "span_id" })
            {
                if (row.TryGetValue("context." + column, out var value) && value is not null)
                {
                    writer.WritePropertyName(column);
                    ParquetJson.WriteValue(writer, value, "context." + column, Plain);
                }
            }

            writer.WriteEndObject();
            if (row.TryGetValue("events", out var events) && events is not null)
            {
                writer.WritePropertyName("events");
                ParquetJson.WriteValue(writer, events, "events", Structured);
            }

            writer.WriteStartObject("attributes");
            foreach (var (column, value) in row)
            {
                if (value is null || !column.StartsWith("attributes.", StringComparison.Ordinal))
                {
                    continue;
                }

                var name = column["attributes.".Length..];
                writer.WritePropertyName(name);
                ParquetJson.WriteValue(writer, value, name, Structured);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// Whether a text attribute column may hold a dict or list written as JSON text (metadata,
    /// documents, messages, tags, custom namespaces); inputs, outputs, templates and message
    /// contents stay the text they are even when that text is JSON.
    /// </summary>
    private static bool IsStructuredText(string name) =>
        !(name.EndsWith(".value", StringComparison.Ordinal) || name.EndsWith("content", StringComparison.Ordinal)
          || name.EndsWith(".template", StringComparison.Ordinal) || name.EndsWith("description", StringComparison.Ordinal)
          || name is "llm.invocation_parameters" || name.StartsWith("exception.", StringComparison.Ordinal));

    private static void WriteText(Utf8JsonWriter writer, string name, string text)
    {
        var trimmed = text.TrimStart();
        if (IsStructuredText(name) && (trimmed.StartsWith('{') || trimmed.StartsWith('[')))
        {
            try
            {
                using var document = JsonDocument.Parse(text);
                document.RootElement.WriteTo(writer);
                return;
            }
            catch (JsonException error)
            {
                if (name == "events")
                {
                    throw new RecordProblem($"events is not JSON ({error.Message})");
                }
            }
        }

        writer.WriteStringValue(text);
    }
}
