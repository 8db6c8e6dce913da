using System.Collections;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Parquet;
using Parquet.Serialization;
using Warehouse.Loading;

namespace Warehouse.Sources.Langfuse;

/// <summary>
/// Rows of a Parquet file as JSON objects, a row group at a time, nested columns included: the
/// blob export's Parquet is ClickHouse's `FORMAT Parquet`, where metadata, usage_details and
/// cost_details are MAP columns and tags a LIST, which the shared flat reader refuses. Maps
/// become objects, lists arrays, timestamps zone-less UTC text (`2025-06-03 10:15:02.120000`,
/// as ClickHouse writes them in its text formats), decimals and unsigned integers numbers, and
/// binary strings UTF-8 text. A gzipped Parquet file is decompressed to a temp file first.
/// </summary>
internal sealed class LangfuseParquetRows : IDisposable
{
    private readonly string? _temp;

    public LangfuseParquetRows(SourceFile file)
    {
        if (file.IsGzip)
        {
            _temp = Path.Combine(Path.GetTempPath(), $"langfuse_{Guid.NewGuid():N}.parquet");
            using var source = file.Open();
            using var target = File.Create(_temp);
            source.CopyTo(target);
        }

        ParquetPath = _temp ?? file.Path;
    }

    /// <summary>The Parquet file to read (the decompressed copy for a gzipped one).</summary>
    public string ParquetPath { get; }

    public static bool LooksLikeParquet(SourceFile file) => file.Head.StartsWith("PAR1", StringComparison.Ordinal);

    /// <summary>The top-level column names (a map or list column by its own name, not its leaves').</summary>
    public IReadOnlyList<string> ColumnNames()
    {
        try
        {
            using var stream = SourceFile.OpenRaw(ParquetPath);
            var schema = ParquetReader.ReadSchemaAsync(stream).GetAwaiter().GetResult();
            return schema.Fields.Select(field => field.Name).ToList();
        }
        catch (Exception error) when (error is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new LoadException($"the Parquet footer cannot be read ({error.Message})");
        }
    }

    public IEnumerable<(long RowNumber, JsonElement Row)> Rows(CancellationToken cancellationToken)
    {
        int groups;
        using (var stream = SourceFile.OpenRaw(ParquetPath))
        {
            var reader = ParquetReader.CreateAsync(stream, cancellationToken: cancellationToken).GetAwaiter().GetResult();
            groups = reader.RowGroupCount;
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        long rowNumber = 0;
        for (var group = 0; group < groups; group++)
        {
            IList<Dictionary<string, object>> rows;
            IReadOnlyList<string> order;
            using (var stream = SourceFile.OpenRaw(ParquetPath))
            {
                var result = ParquetSerializer.DeserializeUntypedAsync(stream, null, group, cancellationToken).GetAwaiter().GetResult();
                rows = result.Data;
                order = result.Schema.Fields.Select(field => field.Name).ToList();
            }

            foreach (var row in rows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return (++rowNumber, ToJson(row, order));
            }
        }
    }

    private static JsonElement ToJson(Dictionary<string, object> row, IReadOnlyList<string> order)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var name in order)
            {
                writer.WritePropertyName(name);
                Write(writer, row.GetValueOrDefault(name), 0);
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }

    private static void Write(Utf8JsonWriter writer, object? value, int depth)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string text:
                writer.WriteStringValue(text);
                break;
            case ReadOnlyMemory<char> memory:
                writer.WriteStringValue(memory.Span);
                break;
            case byte[] bytes:
                writer.WriteStringValue(System.Text.Encoding.UTF8.GetString(bytes));
                break;
            case bool flag:
                writer.WriteBooleanValue(flag);
                break;
            case DateTime timestamp:
                writer.WriteStringValue(DateTime.SpecifyKind(timestamp, DateTimeKind.Utc).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture));
                break;
            case DateTimeOffset timestamp:
                writer.WriteStringValue(timestamp.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture));
                break;
            case DateOnly date:
                writer.WriteStringValue(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                break;
            case decimal exact:
                writer.WriteNumberValue(exact);
                break;
            case double number:
                WriteDouble(writer, number);
                break;
            case float number:
                WriteDouble(writer, number);
                break;
            case ulong number:
                writer.WriteNumberValue(number);
                break;
            case sbyte or byte or short or ushort or int or uint or long:
                writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case IDictionary map when depth < 8:
                writer.WriteStartObject();
                foreach (DictionaryEntry entry in map)
                {
                    writer.WritePropertyName(KeyText(entry.Key));
                    Write(writer, entry.Value, depth + 1);
                }

                writer.WriteEndObject();
                break;
            case IEnumerable items when depth < 8:
                writer.WriteStartArray();
                foreach (var item in items)
                {
                    Write(writer, item, depth + 1);
                }

                writer.WriteEndArray();
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void WriteDouble(Utf8JsonWriter writer, double number)
    {
        if (double.IsFinite(number))
        {
            writer.WriteNumberValue(number);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

    private static string KeyText(object key) => key switch
    {
        string text => text,
        ReadOnlyMemory<char> memory => memory.ToString(),
        byte[] bytes => System.Text.Encoding.UTF8.GetString(bytes),
        _ => Convert.ToString(key, CultureInfo.InvariantCulture) ?? "",
    };

    public void Dispose()
    {
        if (_temp is not null)
        {
            try
            {
                File.Delete(_temp);
            }
            catch (IOException)
            {
                // A temp file left behind is cleaned with the temp folder.
            }
        }
    }
}
