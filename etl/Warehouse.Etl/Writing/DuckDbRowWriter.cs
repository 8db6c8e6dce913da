using DuckDB.NET.Data;
using Warehouse.Loading;

namespace Warehouse.Writing;

/// <summary>DuckDB's Appender: rows go straight into the columnar staging table, no SQL per row.</summary>
public sealed class DuckDbRowWriter : IRowWriter
{
    private readonly DuckDBAppender _appender;
    private readonly ColumnType[] _types;
    private bool _closed;

    public DuckDbRowWriter(DuckDBConnection connection, string stagingName, IReadOnlyList<(string Name, ColumnType Type)> columns)
    {
        // A schema-qualified name is a table of the database, a catalog-qualified one a table of an attached database
        // (DuckDbEngine.SharedCatalog); a bare name (most staging tables) a temp table.
        _appender = stagingName.Split('.') switch
        {
            [var catalog, var schema, var table] => connection.CreateAppender(catalog, schema, table),
            [var schema, var table] => connection.CreateAppender(schema, table),
            _ => connection.CreateAppender("temp", "main", stagingName),
        };
        _types = columns.Select(column => column.Type).ToArray();
    }

    public ValueTask WriteAsync(object?[] row, CancellationToken cancellationToken)
    {
        var appenderRow = _appender.CreateRow();
        for (var index = 0; index < _types.Length; index++)
        {
            var value = row[index];
            if (value is null)
            {
                appenderRow.AppendNullValue();
                continue;
            }

            switch (_types[index])
            {
                case ColumnType.Text when value is byte[] utf8:
                    // Copied as they are into the vector: no string to encode (a VARCHAR's blob writer is the same call).
                    appenderRow.AppendValue(utf8.AsSpan());
                    break;
                case ColumnType.Text when value is ReadOnlyMemory<byte> slice:
                    // The appender takes a Span<byte> and only reads it.
                    appenderRow.AppendValue(System.Runtime.InteropServices.MemoryMarshal.AsMemory(slice).Span);
                    break;
                case ColumnType.Text:
                    appenderRow.AppendValue((string)value);
                    break;
                case ColumnType.Integer:
                    appenderRow.AppendValue((int?)(int)value);
                    break;
                case ColumnType.BigInt:
                    appenderRow.AppendValue((long?)(long)value);
                    break;
                case ColumnType.Double:
                    appenderRow.AppendValue((double?)(double)value);
                    break;
                case ColumnType.Boolean:
                    appenderRow.AppendValue((bool?)(bool)value);
                    break;
                case ColumnType.Timestamp:
                    appenderRow.AppendValue((DateTime?)(DateTime)value);
                    break;
                default:
                    throw new InvalidOperationException($"no appender mapping for {_types[index]}");
            }
        }

        appenderRow.EndRow();
        return ValueTask.CompletedTask;
    }

    public ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        if (!_closed)
        {
            _closed = true;
            _appender.Close();
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _appender.Dispose();
        return ValueTask.CompletedTask;
    }
}
