using Parquet;
using Parquet.Schema;
using Parquet.Serialization;
using Warehouse.Loading;

namespace Warehouse.Sources.Parquet;

/// <summary>
/// A flat Parquet table read one row group at a time (memory follows the writer's row-group
/// size, not the file), each row as typed CLR values in column order: string, bool, int, long,
/// short, float, double, decimal, DateTime (UTC) or null. Formats turn the values into their own
/// rows; nested (list or struct) columns are refused with their names by <see cref="Rows(string, CancellationToken)"/>
/// and read as dictionaries and lists by <see cref="NestedRows"/>. <see cref="ParquetFile"/> opens a
/// source's Parquet (gzipped or not); <see cref="ParquetJson"/> writes rows as JSON.
/// </summary>
public static class ParquetTable
{
    /// <summary>Parquet files start with the magic bytes PAR1 (and end with them); gzip around Parquet is not read.</summary>
    public static bool IsParquet(SourceFile file) => !file.IsGzip && file.Head.StartsWith("PAR1", StringComparison.Ordinal);

    /// <summary>The leaf column names, in column order (the names flat rows are read under).</summary>
    public static IReadOnlyList<string> ColumnNames(string path) => ColumnNames(path, path);

    /// <summary>The leaf column names; <paramref name="label"/> names the file in messages.</summary>
    public static IReadOnlyList<string> ColumnNames(string path, string label) =>
        Footer(path, label, schema => schema.GetDataFields().Select(field => field.Name).ToList());

    /// <summary>The top-level column names (a map, list or struct column by its own name, not its leaves').</summary>
    public static IReadOnlyList<string> TopLevelColumnNames(string path, string label) =>
        Footer(path, label, schema => schema.Fields.Select(field => field.Name).ToList());

    /// <summary>Whether any column is nested (a list, map or struct), which <see cref="Rows(string, CancellationToken)"/> refuses.</summary>
    public static bool HasNestedColumns(string path)
    {
        using var stream = SourceFile.OpenRaw(path);
        return Wait(ParquetReader.ReadSchemaAsync(stream)).GetDataFields().Any(IsNested);
    }

    public static IEnumerable<(long RowNumber, object?[] Values)> Rows(string path, CancellationToken cancellationToken) =>
        Rows(path, path, cancellationToken);

    /// <summary>The rows of a flat table; <paramref name="label"/> names the file in messages.</summary>
    public static IEnumerable<(long RowNumber, object?[] Values)> Rows(string path, string label, CancellationToken cancellationToken)
    {
        using var stream = SourceFile.OpenRaw(path);
        var reader = Wait(ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: cancellationToken));
        try
        {
            foreach (var row in ReadRows(reader, label, cancellationToken))
            {
                yield return row;
            }
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// The rows of any table, nested columns included, a row group at a time through Parquet.Net's
    /// untyped reader: each row as top-level column name → value, where a map or struct is an
    /// <see cref="System.Collections.IDictionary"/> and a list an <see cref="System.Collections.IEnumerable"/>,
    /// with the row group's top-level column names in schema order.
    /// </summary>
    public static IEnumerable<(long RowNumber, IReadOnlyList<string> Columns, IReadOnlyDictionary<string, object?> Row)> NestedRows(
        string path, CancellationToken cancellationToken)
    {
        int groups;
        using (var stream = SourceFile.OpenRaw(path))
        {
            var reader = Wait(ParquetReader.CreateAsync(stream, cancellationToken: cancellationToken));
            groups = reader.RowGroupCount;
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        long rowNumber = 0;
        for (var group = 0; group < groups; group++)
        {
            IList<Dictionary<string, object>> rows;
            IReadOnlyList<string> columns;
            using (var stream = SourceFile.OpenRaw(path))
            {
                var result = Wait(ParquetSerializer.DeserializeUntypedAsync(stream, null, group, cancellationToken));
                rows = result.Data;
                columns = result.Schema.Fields.Select(field => field.Name).ToList();
            }

            foreach (var row in rows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return (++rowNumber, columns, row!);
            }
        }
    }

    private static T Footer<T>(string path, string label, Func<ParquetSchema, T> read)
    {
        try
        {
            using var stream = SourceFile.OpenRaw(path);
            return read(Wait(ParquetReader.ReadSchemaAsync(stream)));
        }
        catch (Exception error) when (error is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new LoadException($"{label}: the Parquet footer cannot be read ({error.Message})");
        }
    }

    private static bool IsNested(DataField field) => field.MaxRepetitionLevel > 0 || field.Path.ToList().Count > 1;

    private static IEnumerable<(long RowNumber, object?[] Values)> ReadRows(ParquetReader reader, string path, CancellationToken cancellationToken)
    {
        var fields = reader.Schema.GetDataFields();
        var nested = fields.Where(IsNested).Select(field => field.Name).ToList();
        if (nested.Count > 0)
        {
            throw new LoadException($"{path}: columns {string.Join(", ", nested)} are nested (lists or structs); only flat tables are read");
        }

        long rowNumber = 0;
        for (var group = 0; group < reader.RowGroupCount; group++)
        {
            using var rowGroup = reader.OpenRowGroupReader(group);
            var rows = checked((int)rowGroup.RowCount);
            var columns = fields.Select(field => ReadColumn(rowGroup, field, rows, path, cancellationToken)).ToArray();
            for (var row = 0; row < rows; row++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var values = new object?[fields.Length];
                for (var column = 0; column < fields.Length; column++)
                {
                    values[column] = columns[column].GetValue(row);
                }

                yield return (++rowNumber, values);
            }
        }
    }

    private static Array ReadColumn(ParquetRowGroupReader rowGroup, DataField field, int rows, string path, CancellationToken cancellationToken)
    {
        var type = field.ClrType;
        // Parquet.Net 6 reports UTF-8 string columns as ReadOnlyMemory<char>; both read as strings.
        if (type == typeof(string) || type == typeof(ReadOnlyMemory<char>))
        {
            var values = new string?[rows];
            Wait(rowGroup.ReadAsync(field, values.AsMemory()!, null, cancellationToken));
            return values;
        }

        return type switch
        {
            _ when type == typeof(bool) => Read<bool>(rowGroup, field, rows, cancellationToken),
            _ when type == typeof(int) => Read<int>(rowGroup, field, rows, cancellationToken),
            _ when type == typeof(long) => Read<long>(rowGroup, field, rows, cancellationToken),
            _ when type == typeof(short) => Read<short>(rowGroup, field, rows, cancellationToken),
            _ when type == typeof(float) => Read<float>(rowGroup, field, rows, cancellationToken),
            _ when type == typeof(double) => Read<double>(rowGroup, field, rows, cancellationToken),
            _ when type == typeof(decimal) => Read<decimal>(rowGroup, field, rows, cancellationToken),
            _ when type == typeof(DateTime) => Read<DateTime>(rowGroup, field, rows, cancellationToken),
            _ when type == typeof(DateTimeOffset) => Read<DateTimeOffset>(rowGroup, field, rows, cancellationToken),
            _ => throw new LoadException($"{path}: column {field.Name} has Parquet type {type.Name}, which is not read"),
        };
    }

    /// <summary>A column as boxed values (null where the column has none), nullable or not.</summary>
    private static object?[] Read<T>(ParquetRowGroupReader rowGroup, DataField field, int rows, CancellationToken cancellationToken)
        where T : struct
    {
        var boxed = new object?[rows];
        if (field.IsNullable)
        {
            var values = new T?[rows];
            Wait(rowGroup.ReadAsync(field, values.AsMemory(), null, cancellationToken));
            for (var row = 0; row < rows; row++)
            {
                boxed[row] = values[row];
            }
        }
        else
        {
            var values = new T[rows];
            Wait(rowGroup.ReadAsync(field, values.AsMemory(), null, cancellationToken));
            for (var row = 0; row < rows; row++)
            {
                boxed[row] = values[row];
            }
        }

        return boxed;
    }

    // The loader's record stream is synchronous; Parquet.Net's reads are asynchronous. The console
    // has no synchronisation context, so waiting here cannot deadlock.
    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private static void Wait(ValueTask task) => task.AsTask().GetAwaiter().GetResult();
}
