using System.Collections;
using System.Globalization;
using System.Text.Json;
using Parquet;
using Parquet.Serialization;
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
/// row group at a time through Parquet.Net's untyped reader.
/// </summary>
public sealed class PhoenixTraceDatasetParquetSource : TracePartFormat
{
    public const string FormatName = "phoenix-trace-dataset-parquet";

    private static readonly string[] RequiredColumns = ["context.span_id", "context.trace_id", "span_kind"];

    /// <summary>Top-level span fields the DataFrame keeps as columns of their own.</summary>
    private static readonly string[] SpanColumns = ["name", "span_kind", "parent_id", "start_time", "end_time", "status_code", "status_message"];

    public override string Name => FormatName;

    public override string SourceName => PhoenixSpans.Store;

    public override bool Detect(SourceFile file) =>
        ParquetTable.IsParquet(file) && TopLevelColumns(file.Path) is var columns && RequiredColumns.All(columns.Contains);

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

    /// <summary>The file's top-level column names (a struct or list column by its own name).</summary>
    private static HashSet<string> TopLevelColumns(string path)
    {
        try
        {
            using var stream = SourceFile.OpenRaw(path);
            var schema = ParquetReader.ReadSchemaAsync(stream).GetAwaiter().GetResult();
            return schema.Fields.Select(field => field.Name).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception error) when (error is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new LoadException($"{path}: the Parquet footer cannot be read ({error.Message})");
        }
    }

    /// <summary>Each row as column name → value (nulls left out), a row group at a time.</summary>
    private static IEnumerable<(long RowNumber, IReadOnlyDictionary<string, object?> Row)> Rows(string path, CancellationToken cancellationToken)
    {
        bool nested;
        using (var stream = SourceFile.OpenRaw(path))
        {
            var schema = ParquetReader.ReadSchemaAsync(stream).GetAwaiter().GetResult();
            nested = schema.GetDataFields().Any(field => field.MaxRepetitionLevel > 0 || field.Path.ToList().Count > 1);
        }

        if (!nested)
        {
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

            yield break;
        }

        int groups;
        using (var stream = SourceFile.OpenRaw(path))
        {
            var reader = ParquetReader.CreateAsync(stream, cancellationToken: cancellationToken).GetAwaiter().GetResult();
            groups = reader.RowGroupCount;
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        long number = 0;
        for (var group = 0; group < groups; group++)
        {
            IList<Dictionary<string, object>> data;
            using (var stream = SourceFile.OpenRaw(path))
            {
                data = ParquetSerializer.DeserializeUntypedAsync(stream, null, group, cancellationToken).GetAwaiter().GetResult().Data;
            }

            foreach (var row in data)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return (++number, row!);
            }
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
                    WriteValue(writer, value, column, parseText: false);
                }
            }

            writer.WriteStartObject("context");
            foreach (var column in new[] { "trace_id", "span_id" })
            {
                if (row.TryGetValue("context." + column, out var value) && value is not null)
                {
                    writer.WritePropertyName(column);
                    WriteValue(writer, value, "context." + column, parseText: false);
                }
            }

            writer.WriteEndObject();
            if (row.TryGetValue("events", out var events) && events is not null)
            {
                writer.WritePropertyName("events");
                WriteValue(writer, events, "events", parseText: true);
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
                WriteValue(writer, value, name, parseText: IsStructuredText(name));
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

    private static void WriteValue(Utf8JsonWriter writer, object? value, string name, bool parseText)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string text:
                WriteText(writer, text, name, parseText);
                break;
            case ReadOnlyMemory<char> memory:
                WriteText(writer, memory.ToString(), name, parseText);
                break;
            case bool flag:
                writer.WriteBooleanValue(flag);
                break;
            case DateTime time:
                writer.WriteStringValue((time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : DateTime.SpecifyKind(time, DateTimeKind.Utc))
                    .ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture));
                break;
            case DateTimeOffset offset:
                writer.WriteStringValue(offset.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture));
                break;
            case long whole when name is "start_time" or "end_time" || name.EndsWith("timestamp", StringComparison.Ordinal):
                // A timestamp column written as plain int64 milliseconds.
                writer.WriteStringValue(DateTime.UnixEpoch.AddMilliseconds(whole).ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture));
                break;
            case double real:
                if (double.IsFinite(real))
                {
                    writer.WriteNumberValue(real);
                }
                else
                {
                    writer.WriteNullValue();
                }

                break;
            case float single:
                if (float.IsFinite(single))
                {
                    writer.WriteNumberValue(single);
                }
                else
                {
                    writer.WriteNullValue();
                }

                break;
            case decimal exact:
                writer.WriteNumberValue(exact);
                break;
            case byte[] bytes:
                writer.WriteBase64StringValue(bytes);
                break;
            case IDictionary dictionary:
                writer.WriteStartObject();
                foreach (DictionaryEntry entry in dictionary)
                {
                    if (entry.Value is not null)
                    {
                        writer.WritePropertyName(Convert.ToString(entry.Key, CultureInfo.InvariantCulture)!);
                        WriteValue(writer, entry.Value, name, parseText: false);
                    }
                }

                writer.WriteEndObject();
                break;
            case IEnumerable items:
                writer.WriteStartArray();
                foreach (var item in items)
                {
                    WriteValue(writer, item, name, parseText: false);
                }

                writer.WriteEndArray();
                break;
            case IConvertible number when value is int or long or short or byte or sbyte or uint or ulong or ushort:
                writer.WriteNumberValue(number.ToDecimal(CultureInfo.InvariantCulture));
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void WriteText(Utf8JsonWriter writer, string text, string name, bool parseText)
    {
        var trimmed = text.TrimStart();
        if (parseText && (trimmed.StartsWith('{') || trimmed.StartsWith('[')))
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
