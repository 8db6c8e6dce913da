using System.Globalization;
using Warehouse.Loading;
using Warehouse.Sources.Parquet;

namespace Warehouse.Sources.Canonical;

/// <summary>
/// Parquet whose columns are the table's, read one row group at a time. Values are turned into
/// the loader's text so that the same typing rules apply as for CSV and JSON Lines; columns the
/// table does not have go to `attributes`.
/// </summary>
public sealed class CanonicalParquetSource : SourceFormat
{
    public const string FormatName = "canonical-parquet";

    public override string Name => FormatName;

    public override string SourceName => "canonical";

    public override string Kind => "eval";

    public override int DetectionPriority => 0;

    public override bool Detect(SourceFile file) =>
        ParquetTable.IsParquet(file) && CanonicalKind.Of(ParquetTable.ColumnNames(file.Path)) is not null;

    public override TableSchema SchemaFor(SourceFile file, string? forcedKind) =>
        CanonicalKind.Resolve(file, ParquetTable.ColumnNames(file.Path), forcedKind);

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        var names = ParquetTable.ColumnNames(file.Path);
        CanonicalKind.RequireKeyColumns(schema, names, file.Path);
        var ordinals = names.Select(schema.Ordinal).ToArray();
        foreach (var (rowNumber, values) in ParquetTable.Rows(file.Path, cancellationToken))
        {
            var record = new FieldRecord(rowNumber, schema.Columns.Count);
            var texts = values.Select(Text).ToArray();
            record.RawText = () => string.Join(", ", names.Select((name, column) => $"{name}={texts[column] ?? "null"}"));
            for (var column = 0; column < names.Count; column++)
            {
                if (ordinals[column] >= 0)
                {
                    record.Values[ordinals[column]] = texts[column];
                }
                else if (texts[column] is not null)
                {
                    record.AddExtra(names[column], texts[column]);
                }
            }

            yield return record;
        }
    }

    /// <summary>A Parquet value as the loader's text; timestamps are UTC instants (zone-less ones read as UTC).</summary>
    public static string? Text(object? value) => value switch
    {
        null => null,
        string text => text,
        bool flag => flag ? "true" : "false",
        DateTime timestamp => ParquetJson.UtcText(timestamp),
        DateTimeOffset timestamp => ParquetJson.UtcText(timestamp.UtcDateTime),
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        float number => number.ToString("R", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
