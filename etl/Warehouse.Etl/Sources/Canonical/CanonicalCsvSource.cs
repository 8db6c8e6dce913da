using System.Text;
using CsvHelper;
using Warehouse.Loading;

namespace Warehouse.Sources.Canonical;

/// <summary>
/// CSV whose header names the table's columns. Unknown columns go to `attributes`; a row with
/// a different number of fields than the header is rejected on its own.
/// </summary>
public sealed class CanonicalCsvSource(TableSchema schema) : IRecordSource
{
    public const string FormatName = "canonical-csv";

    public string Format => FormatName;

    public TableSchema Schema { get; } = schema;

    public static CsvReaderOptions ReaderOptions() => new()
    {
        HasHeader = true,
        TrackLineNumbers = true,
        AllowLineBreaksInQuotes = true,
        SkipEmptyLines = true,
    };

    /// <summary>The header's column names, for kind detection; empty when the file has no header line.</summary>
    public static IReadOnlyList<string> ReadHeader(Stream stream)
    {
        using var reader = CsvReader.Create(stream, ReaderOptions(), leaveOpen: true);
        reader.ReadHeader();
        return reader.Headers?.Select(name => name.Trim()).ToList() ?? [];
    }

    public IEnumerable<FieldRecord> Read(Stream stream, string filePath, CancellationToken cancellationToken)
    {
        using var reader = CsvReader.Create(stream, ReaderOptions(), leaveOpen: true);
        reader.ReadHeader();
        var headers = reader.Headers?.Select(name => name.Trim()).ToList() ?? [];
        var ordinals = headers.Select(Schema.Ordinal).ToArray();
        RequireKeyColumns(Schema, headers, filePath);

        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var record = new FieldRecord(reader.LineNumber, Schema.Columns.Count);
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

    /// <summary>A header without a required key column would reject every row: say so once.</summary>
    internal static void RequireKeyColumns(TableSchema schema, IReadOnlyCollection<string> columns, string filePath)
    {
        var missing = schema.NaturalKey
            .Where(key => key.Fallback is null && !columns.Contains(key.Name, StringComparer.OrdinalIgnoreCase))
            .Select(key => key.Name)
            .ToList();
        if (missing.Count > 0)
        {
            throw new LoadException(
                $"{filePath}: the header has no {string.Join(", ", missing)} column; canonical {schema.TableName} files need it");
        }
    }
}
