using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CsvHelper;

namespace Warehouse.Commands;

/// <summary>Prints the rows of a reader as an aligned table, CSV (header line first) or a JSON array.</summary>
public static class QueryOutput
{
    public static readonly string[] Formats = ["table", "csv", "json"];

    public static async Task<long> WriteAsync(DbDataReader reader, string format, TextWriter output, CancellationToken cancellationToken,
        int maxTableRows = int.MaxValue)
    {
        var names = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
        return format switch
        {
            "csv" => await WriteCsvAsync(reader, names, output, cancellationToken),
            "json" => await WriteJsonAsync(reader, names, output, cancellationToken),
            _ => await WriteTableAsync(reader, names, output, cancellationToken, maxTableRows),
        };
    }

    private static async Task<long> WriteTableAsync(DbDataReader reader, string[] names, TextWriter output, CancellationToken cancellationToken,
        int maxRows)
    {
        // A table must know its widths before its first line, so it holds the rows; use csv or
        // json for results too large to hold.
        var rows = new List<string[]>();
        while (rows.Count < maxRows && await reader.ReadAsync(cancellationToken))
        {
            rows.Add(Enumerable.Range(0, names.Length).Select(index => Format(reader.GetValue(index)) ?? "NULL").ToArray());
        }

        var widths = names.Select((name, index) => Math.Max(name.Length, rows.Count == 0 ? 0 : rows.Max(row => row[index].Length))).ToArray();
        var numeric = Enumerable.Range(0, names.Length).Select(index => IsNumeric(reader.GetFieldType(index))).ToArray();
        var line = new StringBuilder();
        void WriteLine(IReadOnlyList<string> cells, bool header)
        {
            line.Clear();
            for (var index = 0; index < cells.Count; index++)
            {
                if (index > 0)
                {
                    line.Append("  ");
                }

                line.Append(numeric[index] && !header ? cells[index].PadLeft(widths[index]) : cells[index].PadRight(widths[index]));
            }

            output.WriteLine(line.ToString().TrimEnd());
        }

        WriteLine(names, header: true);
        output.WriteLine(string.Join("  ", widths.Select(width => new string('-', width))));
        foreach (var row in rows)
        {
            WriteLine(row, header: false);
        }

        output.WriteLine($"({rows.Count} row{(rows.Count == 1 ? "" : "s")})");
        return rows.Count;
    }

    private static async Task<long> WriteCsvAsync(DbDataReader reader, string[] names, TextWriter output, CancellationToken cancellationToken)
    {
        await using var csv = CsvWriter.Create(output, new CsvWriterOptions { NewLine = "\n" }, leaveOpen: true);
        csv.WriteRecord(names);
        long count = 0;
        var fields = new string[names.Length];
        while (await reader.ReadAsync(cancellationToken))
        {
            for (var index = 0; index < names.Length; index++)
            {
                fields[index] = Format(reader.GetValue(index)) ?? "";
            }

            csv.WriteRecord(fields);
            count++;
        }

        await csv.FlushAsync(cancellationToken);
        return count;
    }

    private static async Task<long> WriteJsonAsync(DbDataReader reader, string[] names, TextWriter output, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        long count = 0;
        await output.WriteLineAsync("[");
        while (await reader.ReadAsync(cancellationToken))
        {
            buffer.SetLength(0);
            await using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                for (var index = 0; index < names.Length; index++)
                {
                    json.WritePropertyName(names[index]);
                    WriteJsonValue(json, reader.GetValue(index));
                }

                json.WriteEndObject();
            }

            await output.WriteAsync((count == 0 ? "  " : ",\n  ") + Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
            count++;
        }

        await output.WriteLineAsync(count == 0 ? "]" : "\n]");
        return count;
    }

    private static void WriteJsonValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null or DBNull:
                json.WriteNullValue();
                break;
            case bool flag:
                json.WriteBooleanValue(flag);
                break;
            case double number when !double.IsFinite(number):
                json.WriteStringValue(number.ToString(CultureInfo.InvariantCulture));
                break;
            case float number when !float.IsFinite(number):
                json.WriteStringValue(number.ToString(CultureInfo.InvariantCulture));
                break;
            case sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal:
                json.WriteRawValue(Format(value)!);
                break;
            default:
                json.WriteStringValue(Format(value));
                break;
        }
    }

    /// <summary>Invariant text for a database value; timestamps in ISO-8601 UTC.</summary>
    public static string? Format(object? value) => value switch
    {
        null or DBNull => null,
        string text => text,
        bool flag => flag ? "true" : "false",
        DateTime timestamp => (timestamp.Kind == DateTimeKind.Local ? timestamp.ToUniversalTime() : timestamp)
            .ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture),
        DateTimeOffset timestamp => timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture),
        DateOnly date => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        float number => number.ToString("R", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        byte[] bytes => Convert.ToHexString(bytes),
        _ => value.ToString(),
    };

    private static bool IsNumeric(Type type) =>
        type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte) || type == typeof(double)
        || type == typeof(float) || type == typeof(decimal) || type == typeof(System.Numerics.BigInteger) || type == typeof(ulong)
        || type == typeof(uint) || type == typeof(sbyte) || type == typeof(ushort);
}
