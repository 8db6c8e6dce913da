using System.Data;
using Microsoft.Data.SqlClient;
using Warehouse.Loading;

namespace Warehouse.Writing;

/// <summary>
/// SqlBulkCopy into the #staging table, in chunks so memory stays flat however large the file.
/// </summary>
public sealed class SqlServerRowWriter : IRowWriter
{
    private const int ChunkRows = 50_000;

    private readonly SqlBulkCopy _bulkCopy;
    private readonly DataTable _chunk;

    public SqlServerRowWriter(SqlConnection connection, SqlTransaction transaction, string stagingName,
        IReadOnlyList<(string Name, ColumnType Type)> columns)
    {
        _bulkCopy = new SqlBulkCopy(connection, SqlBulkCopyOptions.KeepNulls, transaction)
        {
            DestinationTableName = stagingName,
            BatchSize = ChunkRows,
            BulkCopyTimeout = 0,
        };
        _chunk = new DataTable();
        foreach (var (name, type) in columns)
        {
            _chunk.Columns.Add(name, type switch
            {
                ColumnType.Text => typeof(string),
                ColumnType.Integer => typeof(int),
                ColumnType.BigInt => typeof(long),
                ColumnType.Double => typeof(double),
                ColumnType.Boolean => typeof(bool),
                ColumnType.Timestamp => typeof(DateTime),
                _ => throw new ArgumentOutOfRangeException(nameof(columns)),
            });
            _bulkCopy.ColumnMappings.Add(name, name);
        }
    }

    public async ValueTask WriteAsync(object?[] row, CancellationToken cancellationToken)
    {
        var values = new object[row.Length];
        for (var index = 0; index < row.Length; index++)
        {
            values[index] = row[index] switch
            {
                null => DBNull.Value,
                byte[] utf8 when _chunk.Columns[index].DataType == typeof(string) => System.Text.Encoding.UTF8.GetString(utf8),
                ReadOnlyMemory<byte> slice when _chunk.Columns[index].DataType == typeof(string) => System.Text.Encoding.UTF8.GetString(slice.Span),
                var value => value,
            };
        }

        _chunk.Rows.Add(values);
        if (_chunk.Rows.Count >= ChunkRows)
        {
            await FlushAsync(cancellationToken);
        }
    }

    public ValueTask CompleteAsync(CancellationToken cancellationToken) => FlushAsync(cancellationToken);

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_chunk.Rows.Count == 0)
        {
            return;
        }

        await _bulkCopy.WriteToServerAsync(_chunk, cancellationToken);
        _chunk.Clear();
    }

    public ValueTask DisposeAsync()
    {
        ((IDisposable)_bulkCopy).Dispose();
        _chunk.Dispose();
        return ValueTask.CompletedTask;
    }
}
