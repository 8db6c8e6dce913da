using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Warehouse.Benchmarks.Generation;

/// <summary>
/// Writes canonical CSV (RFC 4180, header of column names, empty = null) and JSON Lines (one
/// object per line, nulls omitted, attributes as an object) a record at a time: memory stays flat
/// whatever the scale.
/// </summary>
internal static class CanonicalWriters
{
    private const int BufferBytes = 1 << 20;

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static long WriteCsv<T>(string path, long count, Func<long, T> record, IReadOnlyList<(string Name, Func<T, object?> Value)> columns,
        CancellationToken cancellationToken)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false), BufferBytes);
        writer.NewLine = "\n";
        writer.WriteLine(string.Join(',', columns.Select(column => column.Name)));
        var line = new StringBuilder(1024);
        for (long index = 0; index < count; index++)
        {
            if (index % 65536 == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var item = record(index);
            line.Clear();
            for (var ordinal = 0; ordinal < columns.Count; ordinal++)
            {
                if (ordinal > 0)
                {
                    line.Append(',');
                }

                AppendCsv(line, columns[ordinal].Value(item));
            }

            line.Append('\n');
            writer.Write(line);
        }

        return count;
    }

    public static long WriteJsonl<T>(string path, long count, Func<long, T> record, IReadOnlyList<(string Name, Func<T, object?> Value)> columns,
        CancellationToken cancellationToken)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, BufferBytes);
        using var json = new Utf8JsonWriter(stream, JsonOptions);
        for (long index = 0; index < count; index++)
        {
            if (index % 65536 == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var item = record(index);
            json.WriteStartObject();
            foreach (var (name, value) in columns)
            {
                WriteJsonProperty(json, name, value(item));
            }

            json.WriteEndObject();
            json.Flush();
            stream.WriteByte((byte)'\n');
            json.Reset();
        }

        return count;
    }

    private static void AppendCsv(StringBuilder line, object? value)
    {
        switch (value)
        {
            case null:
                return;
            case string text:
                AppendQuoted(line, text);
                return;
            case JsonAttributes attributes:
                AppendQuoted(line, AttributesJson(attributes));
                return;
            default:
                line.Append(Scalar(value));
                return;
        }
    }

    private static void AppendQuoted(StringBuilder line, string text)
    {
        if (text.AsSpan().IndexOfAny(",\"\n\r") < 0)
        {
            line.Append(text);
            return;
        }

        line.Append('"').Append(text.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }

    /// <summary>Numbers, flags and times as the canonical format spells them (invariant culture, ISO-8601 UTC).</summary>
    public static string Scalar(object value) => value switch
    {
        bool flag => flag ? "true" : "false",
        DateTime time => time.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string AttributesJson(JsonAttributes attributes)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            WriteAttributes(json, attributes);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void WriteAttributes(Utf8JsonWriter json, JsonAttributes attributes)
    {
        json.WriteStartObject();
        foreach (var (key, value) in attributes.Properties)
        {
            WriteJsonProperty(json, key, value);
        }

        json.WriteEndObject();
    }

    private static void WriteJsonProperty(Utf8JsonWriter json, string name, object? value)
    {
        switch (value)
        {
            case null:
                return;
            case string text:
                json.WriteString(name, text);
                return;
            case bool flag:
                json.WriteBoolean(name, flag);
                return;
            case double number:
                json.WriteNumber(name, number);
                return;
            case long whole:
                json.WriteNumber(name, whole);
                return;
            case int whole:
                json.WriteNumber(name, whole);
                return;
            case DateTime time:
                json.WriteString(name, Scalar(time));
                return;
            case JsonAttributes attributes:
                json.WritePropertyName(name);
                WriteAttributes(json, attributes);
                return;
            default:
                throw new InvalidOperationException($"no JSON form for {value.GetType().Name}");
        }
    }
}
