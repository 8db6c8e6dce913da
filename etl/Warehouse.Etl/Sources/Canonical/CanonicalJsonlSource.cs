using System.Text;
using System.Text.Json;
using Warehouse.Loading;

namespace Warehouse.Sources.Canonical;

/// <summary>
/// JSON Lines whose keys are the table's columns. Numbers and booleans are read as the text the
/// file holds, then typed by the same rules as CSV; nested objects are kept as JSON text.
/// </summary>
public sealed class CanonicalJsonlSource(TableSchema schema) : IRecordSource
{
    public const string FormatName = "canonical-jsonl";

    public string Format => FormatName;

    public TableSchema Schema { get; } = schema;

    public IEnumerable<FieldRecord> Read(Stream stream, string filePath, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        long lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            yield return Parse(line, lineNumber);
        }
    }

    private FieldRecord Parse(string line, long lineNumber)
    {
        var record = new FieldRecord(lineNumber, Schema.Columns.Count) { RawText = () => line };
        try
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                record.ReadError = $"line is a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object";
                return record;
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                var value = AsText(property.Value);
                var ordinal = Schema.Ordinal(property.Name);
                if (ordinal >= 0)
                {
                    record.Values[ordinal] = value;
                }
                else if (value is not null)
                {
                    record.AddExtra(property.Name, value);
                }
            }
        }
        catch (JsonException error)
        {
            record.ReadError = $"line is not valid JSON ({error.Message})";
        }

        return record;
    }

    internal static string? AsText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.String => value.GetString(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => value.GetRawText(),
    };

    /// <summary>The property names of the first readable object in the first lines, for kind detection.</summary>
    public static IReadOnlyList<string> ReadKeys(Stream stream)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        for (var attempt = 0; attempt < 50 && reader.ReadLine() is { } line; attempt++)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(line);
                if (document.RootElement.ValueKind == JsonValueKind.Object)
                {
                    return document.RootElement.EnumerateObject().Select(property => property.Name).ToList();
                }
            }
            catch (JsonException)
            {
                // A bad first line is rejected by the load itself; keep looking for one to detect from.
            }
        }

        return [];
    }
}
