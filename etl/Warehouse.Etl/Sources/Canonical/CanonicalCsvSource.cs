using System.Text;
using System.Text.Unicode;
using CsvHelper;
using Warehouse.Loading;

namespace Warehouse.Sources.Canonical;

/// <summary>
/// CSV whose header names the table's columns. Unknown columns go to `attributes`; a row with
/// a different number of fields than the header, with bytes that are not UTF-8, or with a quote
/// that is never closed (it runs to the end of the file) is rejected on its own. A record longer
/// than <see cref="MaxRecordBytes"/> fails the file: the reader never buffers more than that.
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

    /// <summary>The longest record a canonical file may have (the same limit as a JSON line).</summary>
    public const int MaxRecordBytes = JsonLines.MaxLineBytes;

    public override bool Detect(SourceFile file) => CanonicalKind.Of(file.CsvHeader) is not null;

    public override TableSchema SchemaFor(SourceFile file, string? forcedKind) =>
        CanonicalKind.Resolve(file, file.CsvHeader, forcedKind);

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        using var stream = file.Open();
        CsvMalformedRecord? malformed = null;
        var options = ReaderOptions() with
        {
            MaxRecordSize = MaxRecordBytes,
            OnMalformedRecord = record => malformed = record,
        };
        using var reader = CsvReader.Create(stream, options, leaveOpen: false);
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
            if (malformed is { Reason: CsvMalformedReason.UnterminatedQuote } unterminated && unterminated.LineNumber == reader.LineNumber)
            {
                record.ReadError = "unterminated quote: a quoted field opened in this row is never closed, so the row runs to the end of the file "
                    + "(the rows after it are part of it and are not loaded)";
                yield return record;
                continue;
            }

            if (!Utf8.IsValid(reader.RawRecord))
            {
                record.ReadError = JsonLines.NotUtf8(reader.RawRecord, "row");
                yield return record;
                continue;
            }

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
