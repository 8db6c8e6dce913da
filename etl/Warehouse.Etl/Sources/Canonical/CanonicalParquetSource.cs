using System.Globalization;
using Parquet;
using Parquet.Schema;
using Warehouse.Loading;

namespace Warehouse.Sources.Canonical;

/// <summary>
/// Parquet whose columns are the table's, read one row group at a time (memory follows the
/// writer's row-group size, not the file). Values are turned into the loader's text so that the
/// same typing rules apply as for CSV and JSON Lines; columns the table does not have go to
/// `attributes`. Nested (list or struct) columns are not canonical and are refused.
/// </summary>
public sealed class CanonicalParquetSource : SourceFormat
{
    public const string FormatName = "canonical-parquet";

    public override string Name => FormatName;

    public override string SourceName => "canonical";

    public override string Kind => "eval";

    public override int DetectionPriority => 0;

    /// <summary>Parquet files start and end with the magic bytes PAR1; gzip around Parquet is not read.</summary>
    public override bool Detect(SourceFile file) =>
        !file.IsGzip && file.Head.StartsWith("PAR1", StringComparison.Ordinal) && CanonicalKind.Of(ColumnNames(file)) is not null;

    public override TableSchema SchemaFor(SourceFile file, string? forcedKind) =>
        CanonicalKind.Resolve(file, ColumnNames(file), forcedKind);

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        using var stream = SourceFile.OpenRaw(file.Path);
        var reader = Wait(ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: cancellationToken));
        try
        {
            foreach (var record in ReadRows(reader, file, schema, cancellationToken))
            {
                yield return record;
            }
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static IEnumerable<FieldRecord> ReadRows(ParquetReader reader, SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        var fields = reader.Schema.GetDataFields();
        var nested = fields.Where(field => field.MaxRepetitionLevel > 0 || field.Path.ToList().Count > 1).Select(field => field.Name).ToList();
        if (nested.Count > 0)
        {
            throw new LoadException($"{file.Path}: columns {string.Join(", ", nested)} are nested (lists or structs); canonical Parquet has flat columns only");
        }

        var names = fields.Select(field => field.Name).ToList();
        CanonicalKind.RequireKeyColumns(schema, names, file.Path);
        var ordinals = names.Select(schema.Ordinal).ToArray();
        long rowNumber = 0;
        for (var group = 0; group < reader.RowGroupCount; group++)
        {
            using var rowGroup = reader.OpenRowGroupReader(group);
            var rows = checked((int)rowGroup.RowCount);
            var columns = fields.Select(field => ReadColumn(rowGroup, field, rows, cancellationToken)).ToArray();
            for (var row = 0; row < rows; row++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                rowNumber++;
                var record = new FieldRecord(rowNumber, schema.Columns.Count);
                var index = row;
                record.RawText = () => string.Join(", ", names.Select((name, column) => $"{name}={columns[column][index] ?? "null"}"));
                for (var column = 0; column < fields.Length; column++)
                {
                    var value = columns[column][row];
                    if (ordinals[column] >= 0)
                    {
                        record.Values[ordinals[column]] = value;
                    }
                    else if (value is not null)
                    {
                        record.AddExtra(names[column], value);
                    }
                }

                yield return record;
            }
        }
    }

    private static IReadOnlyList<string> ColumnNames(SourceFile file)
    {
        try
        {
            using var stream = SourceFile.OpenRaw(file.Path);
            var schema = Wait(ParquetReader.ReadSchemaAsync(stream));
            return schema.GetDataFields().Select(field => field.Name).ToList();
        }
        catch (Exception error) when (error is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new LoadException($"{file.Path}: the Parquet footer cannot be read ({error.Message})");
        }
    }

    /// <summary>One column of a row group as the loader's text, by the column's CLR type.</summary>
    private static string?[] ReadColumn(ParquetRowGroupReader rowGroup, DataField field, int rows, CancellationToken cancellationToken)
    {
        var type = field.ClrType;
        // Parquet.Net 6 reports UTF-8 string columns as ReadOnlyMemory<char>; both read as strings.
        if (type == typeof(string) || type == typeof(ReadOnlyMemory<char>))
        {
            var values = new string?[rows];
            Wait(rowGroup.ReadAsync(field, values.AsMemory()!, null, cancellationToken));
            return values;
        }

        if (type == typeof(bool))
        {
            return Read<bool>(rowGroup, field, rows, value => value ? "true" : "false", cancellationToken);
        }

        if (type == typeof(int))
        {
            return Read<int>(rowGroup, field, rows, value => value.ToString(CultureInfo.InvariantCulture), cancellationToken);
        }

        if (type == typeof(long))
        {
            return Read<long>(rowGroup, field, rows, value => value.ToString(CultureInfo.InvariantCulture), cancellationToken);
        }

        if (type == typeof(short))
        {
            return Read<short>(rowGroup, field, rows, value => value.ToString(CultureInfo.InvariantCulture), cancellationToken);
        }

        if (type == typeof(float))
        {
            return Read<float>(rowGroup, field, rows, value => value.ToString("R", CultureInfo.InvariantCulture), cancellationToken);
        }

        if (type == typeof(double))
        {
            return Read<double>(rowGroup, field, rows, value => value.ToString("R", CultureInfo.InvariantCulture), cancellationToken);
        }

        if (type == typeof(decimal))
        {
            return Read<decimal>(rowGroup, field, rows, value => value.ToString(CultureInfo.InvariantCulture), cancellationToken);
        }

        if (type == typeof(DateTime))
        {
            // Parquet timestamps are UTC instants (or zone-less, which the warehouse reads as UTC).
            return Read<DateTime>(rowGroup, field, rows,
                value => DateTime.SpecifyKind(value, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture),
                cancellationToken);
        }

        if (type == typeof(DateTimeOffset))
        {
            return Read<DateTimeOffset>(rowGroup, field, rows,
                value => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture), cancellationToken);
        }

        throw new LoadException($"column {field.Name} has Parquet type {type.Name}, which canonical files do not use");
    }

    private static string?[] Read<T>(ParquetRowGroupReader rowGroup, DataField field, int rows, Func<T, string> format,
        CancellationToken cancellationToken)
        where T : struct
    {
        var texts = new string?[rows];
        if (field.IsNullable)
        {
            var values = new T?[rows];
            Wait(rowGroup.ReadAsync(field, values.AsMemory(), null, cancellationToken));
            for (var row = 0; row < rows; row++)
            {
                texts[row] = values[row] is { } value ? format(value) : null;
            }
        }
        else
        {
            var values = new T[rows];
            Wait(rowGroup.ReadAsync(field, values.AsMemory(), null, cancellationToken));
            for (var row = 0; row < rows; row++)
            {
                texts[row] = format(values[row]);
            }
        }

        return texts;
    }

    // The loader's record stream is synchronous; Parquet.Net's reads are asynchronous. The console
    // has no synchronisation context, so waiting here cannot deadlock.
    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private static void Wait(ValueTask task) => task.AsTask().GetAwaiter().GetResult();
}
