using Npgsql;
using NpgsqlTypes;
using Warehouse.Loading;

namespace Warehouse.Writing;

/// <summary>
/// Npgsql binary COPY into the staging table. COPY rolls back unless Complete() is called, and
/// the batch's transaction is the outer boundary, so a failed file leaves nothing behind.
/// </summary>
public sealed class PostgresRowWriter : IRowWriter
{
    private readonly NpgsqlBinaryImporter _importer;
    private readonly NpgsqlDbType[] _types;

    public PostgresRowWriter(NpgsqlConnection connection, string stagingName, IReadOnlyList<(string Name, ColumnType Type)> columns)
    {
        _types = columns.Select(column => column.Type switch
        {
            ColumnType.Text => NpgsqlDbType.Text,
            ColumnType.Integer => NpgsqlDbType.Integer,
            ColumnType.BigInt => NpgsqlDbType.Bigint,
            ColumnType.Double => NpgsqlDbType.Double,
            ColumnType.Boolean => NpgsqlDbType.Boolean,
            ColumnType.Timestamp => NpgsqlDbType.TimestampTz,
            _ => throw new ArgumentOutOfRangeException(nameof(columns)),
        }).ToArray();
        var names = string.Join(", ", columns.Select(column => column.Name));
        _importer = connection.BeginBinaryImport($"copy {stagingName} ({names}) from stdin (format binary)");
    }

    public async ValueTask WriteAsync(object?[] row, CancellationToken cancellationToken)
    {
        await _importer.StartRowAsync(cancellationToken);
        for (var index = 0; index < _types.Length; index++)
        {
            if (row[index] is { } value)
            {
                await _importer.WriteAsync(value, _types[index], cancellationToken);
            }
            else
            {
                await _importer.WriteNullAsync(cancellationToken);
            }
        }
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        await _importer.CompleteAsync(cancellationToken);
        await _importer.CloseAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => _importer.DisposeAsync();
}
