using System.Text;
using System.Text.Json;
using Warehouse.Loading;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.Canonical;

/// <summary>
/// JSON Lines whose keys are the table's columns. Numbers and booleans are read as the text the
/// file holds, then typed by the same rules as CSV; nested objects are kept as JSON text.
/// </summary>
public sealed class CanonicalJsonlSource : SourceFormat
{
    public const string FormatName = "canonical-jsonl";

    public override string Name => FormatName;

    public override string SourceName => "canonical";

    public override string Kind => "eval";

    public override int DetectionPriority => 0;

    public override bool Detect(SourceFile file) => file.FirstLineIsJsonObject && CanonicalKind.Of(file.TopLevelKeys) is not null;

    public override TableSchema SchemaFor(SourceFile file, string? forcedKind) =>
        CanonicalKind.Resolve(file, file.TopLevelKeys, forcedKind);

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        using var stream = file.Open();
        foreach (var (lineNumber, line) in JsonLines.Read(stream, cancellationToken))
        {
            yield return Parse(schema, line, lineNumber);
        }
    }

    private static FieldRecord Parse(TableSchema schema, string line, long lineNumber)
    {
        var record = new FieldRecord(lineNumber, schema.Columns.Count) { RawText = () => line };
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
                var value = JsonText.Of(property.Value);
                var ordinal = schema.Ordinal(property.Name);
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
}

/// <summary>Lines of a JSON Lines stream with their 1-based numbers, blank lines skipped.</summary>
public static class JsonLines
{
    public static IEnumerable<(long LineNumber, string Line)> Read(Stream stream, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        long lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lineNumber++;
            if (!string.IsNullOrWhiteSpace(line))
            {
                yield return (lineNumber, line);
            }
        }
    }
}
