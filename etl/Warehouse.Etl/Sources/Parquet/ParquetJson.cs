using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Warehouse.Sources.Parquet;

/// <summary>Writes a top-level text value: as a JSON string, or, for a column holding JSON text, as that JSON.</summary>
public delegate void ParquetTextWriter(Utf8JsonWriter writer, string column, string text);

/// <summary>How <see cref="ParquetJson"/> writes Parquet values; each format keeps the conventions its readers expect.</summary>
public sealed record ParquetJsonOptions
{
    /// <summary>A timestamp as text (a DateTimeOffset as its UTC DateTime); by default ISO 8601 UTC (<see cref="ParquetJson.UtcText"/>).</summary>
    public Func<DateTime, string> Time { get; init; } = ParquetJson.UtcText;

    /// <summary>How a top-level text value is written (not text inside maps and lists); by default as a JSON string.</summary>
    public ParquetTextWriter? Text { get; init; }

    /// <summary>Turns a non-null value (at any depth, with its top-level column's name) into the value written.</summary>
    public Func<string, object, object>? Value { get; init; }

    /// <summary>Whether a float is written as the double it widens to (0.1f as 0.10000000149011612) rather than as a float (0.1).</summary>
    public bool SingleAsDouble { get; init; }

    /// <summary>Whether binary is written as base64 rather than as UTF-8 text.</summary>
    public bool BinaryAsBase64 { get; init; }

    /// <summary>Whether map and struct entries whose value is null are written (as null) rather than left out.</summary>
    public bool NullEntries { get; init; } = true;

    /// <summary>Maps and lists nested deeper than this are written as their text.</summary>
    public int MaxDepth { get; init; } = int.MaxValue;
}

/// <summary>
/// Parquet values (typed flat values or the untyped reader's dictionaries and lists) as JSON: a
/// row as a JSON object or array, or one value into a writer. Null is null, text a string (or
/// what <see cref="ParquetJsonOptions.Text"/> makes of it), numbers numbers with NaN and infinity
/// as null, timestamps text, maps and structs objects, lists arrays.
/// </summary>
public static class ParquetJson
{
    /// <summary>An instant as ISO 8601 UTC (`2025-06-03T10:15:02.12Z`); a zone-less time reads as UTC.</summary>
    public static string UtcText(DateTime time) =>
        DateTime.SpecifyKind(time, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>A row as a JSON object, its columns in the order given.</summary>
    public static string Object(IReadOnlyList<string> columns, IReadOnlyList<object?> values, ParquetJsonOptions options) =>
        Written(writer =>
        {
            writer.WriteStartObject();
            for (var column = 0; column < columns.Count; column++)
            {
                writer.WritePropertyName(columns[column]);
                WriteValue(writer, values[column], columns[column], options);
            }

            writer.WriteEndObject();
        });

    /// <summary>A row as a JSON array of its values.</summary>
    public static string Array(IReadOnlyList<object?> values, ParquetJsonOptions options) =>
        Written(writer =>
        {
            writer.WriteStartArray();
            foreach (var value in values)
            {
                WriteValue(writer, value, "", options);
            }

            writer.WriteEndArray();
        });

    /// <summary>Writes one top-level value of the named column.</summary>
    public static void WriteValue(Utf8JsonWriter writer, object? value, string column, ParquetJsonOptions options) =>
        Write(writer, value, column, options, 0);

    private static string Written(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void Write(Utf8JsonWriter writer, object? value, string column, ParquetJsonOptions options, int depth)
    {
        if (value is not null && options.Value is { } adjust)
        {
            value = adjust(column, value);
        }

        if (value is ReadOnlyMemory<char> memory)
        {
            // Parquet.Net 6 reads UTF-8 strings as ReadOnlyMemory<char>.
            value = memory.ToString();
        }

        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string text when depth == 0 && options.Text is { } writeText:
                writeText(writer, column, text);
                break;
            case string text:
                writer.WriteStringValue(text);
                break;
            case byte[] bytes when options.BinaryAsBase64:
                writer.WriteBase64StringValue(bytes);
                break;
            case byte[] bytes:
                writer.WriteStringValue(Encoding.UTF8.GetString(bytes));
                break;
            case bool flag:
                writer.WriteBooleanValue(flag);
                break;
            case DateTime time:
                writer.WriteStringValue(options.Time(time));
                break;
            case DateTimeOffset offset:
                writer.WriteStringValue(options.Time(offset.UtcDateTime));
                break;
            case DateOnly date:
                writer.WriteStringValue(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                break;
            case decimal exact:
                writer.WriteNumberValue(exact);
                break;
            case double number:
                WriteFinite(writer, number);
                break;
            case float single when options.SingleAsDouble:
                WriteFinite(writer, single);
                break;
            case float single when float.IsFinite(single):
                writer.WriteNumberValue(single);
                break;
            case float:
                writer.WriteNullValue();
                break;
            case ulong number:
                writer.WriteNumberValue(number);
                break;
            case sbyte or byte or short or ushort or int or uint or long:
                writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case IDictionary map when depth < options.MaxDepth:
                writer.WriteStartObject();
                foreach (DictionaryEntry entry in map)
                {
                    if (entry.Value is not null || options.NullEntries)
                    {
                        writer.WritePropertyName(KeyText(entry.Key));
                        Write(writer, entry.Value, column, options, depth + 1);
                    }
                }

                writer.WriteEndObject();
                break;
            case IEnumerable items when depth < options.MaxDepth:
                writer.WriteStartArray();
                foreach (var item in items)
                {
                    Write(writer, item, column, options, depth + 1);
                }

                writer.WriteEndArray();
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void WriteFinite(Utf8JsonWriter writer, double number)
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
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        _ => Convert.ToString(key, CultureInfo.InvariantCulture) ?? "",
    };
}
