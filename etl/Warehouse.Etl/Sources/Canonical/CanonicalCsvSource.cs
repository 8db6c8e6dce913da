using System.Text;
using CsvHelper;
using Warehouse.Loading;

namespace Warehouse.Sources.Canonical;

/// <summary>
/// CSV whose header names the table's columns. Unknown columns go to `attributes`; a row with
/// a different number of fields than the header is rejected on its own.
/// </summary>
public sealed class CanonicalCsvSource : SourceFormat
{
    public const string FormatName = "canonical-csv";

    public override string Name => FormatName;

    public override string SourceName => "canonical";

    public override string Kind => "eval";

    public override int DetectionPriority => 0;

    public static CsvReaderOptions ReaderOptions() => new()
    {
        HasHeader = true,
        TrackLineNumbers = true,
        AllowLineBreaksInQuotes = true,
        SkipEmptyLines = true,
    };

    public override bool Detect(SourceFile file) => CanonicalKind.Of(file.CsvHeader) is not null;

    public override TableSchema SchemaFor(SourceFile file, string? forcedKind) =>
        CanonicalKind.Resolve(file, file.CsvHeader, forcedKind);

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        using var stream = file.Open();
        using var reader = CsvReader.Create(stream, ReaderOptions(), leaveOpen: false);
        reader.ReadHeader();
        var headers = reader.Headers?.Select(name => name.Trim()).ToList() ?? [];
        var ordinals = headers.Select(schema.Ordinal).ToArray();
        CanonicalKind.RequireKeyColumns(schema, headers, file.Path);

        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var record = new FieldRecord(reader.LineNumber, schema.Columns.Count);
            // The raw text is built only for a rejected record, which the loader handles before it
            // asks for the next row; a later call gets a marker, never another row's text.
            var rowNumber = reader.RowNumber;
            record.RawText = () => reader.RowNumber == rowNumber
                ? Encoding.UTF8.GetString(reader.RawRecord).TrimEnd('\r', '\n')
                : "(the raw record is no longer available)";
            if (reader.FieldCount != headers.Count)
            {
                record.ReadError = $"row has {reader.FieldCount} fields but the header has {headers.Count}";
                yield return record;
                continue;
            }

            for (var index = 0; index < headers.Count; index++)
            {
                var value = reader.GetString(index);
                if (ordinals[index] >= 0)
                {
                    record.Values[ordinals[index]] = value;
                }
                else if (value.Length > 0)
                {
                    record.AddExtra(headers[index], value);
                }
            }

            yield return record;
        }
    }
}
