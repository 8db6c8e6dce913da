using System.Data.Common;
using DuckDB.NET.Data;
using Warehouse.Loading;
using Warehouse.Writing;

namespace Warehouse.Engines;

public sealed class DuckDbEngine(string connectionString) : WarehouseEngine(Normalize(connectionString))
{
    public const string DefaultFile = "warehouse.duckdb";

    public override EngineKind Kind => EngineKind.DuckDb;

    public override string Name => "duckdb";

    /// <summary>For DuckDB the connection may be just the file path.</summary>
    public static string Normalize(string connection) =>
        string.IsNullOrWhiteSpace(connection) ? $"Data Source={DefaultFile}"
        : connection.Contains('=') ? connection
        : $"Data Source={connection}";

    public string FilePath => new DbConnectionStringBuilder { ConnectionString = ConnectionString }["Data Source"]?.ToString() ?? DefaultFile;

    public override string DisplayConnection => Path.GetFullPath(FilePath);

    public override bool IsOwnFile(string fullPath)
    {
        var database = Path.GetFullPath(FilePath);
        return fullPath == database || fullPath == database + ".wal";
    }

    public override DbConnection CreateConnection() => new DuckDBConnection(ConnectionString);

    // The database file's disk being full, or another process holding the file: not the input's fault.
    public override bool IsTransient(DbException error) =>
        base.IsTransient(error)
        || error.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase)
        || error.Message.Contains("disk is full", StringComparison.OrdinalIgnoreCase)
        || LoaderLock.IsFileLocked(error);

    // DuckDB names parameters $name; the loader writes @name everywhere and rewrites here.
    public override string Sql(string sql) => AtParameter().Replace(sql, "$$$1");

    public override string TypeName(ColumnType type) => type switch
    {
        ColumnType.Text => "varchar",
        ColumnType.Integer => "integer",
        ColumnType.BigInt => "bigint",
        ColumnType.Double => "double",
        ColumnType.Boolean => "boolean",
        ColumnType.Timestamp => "timestamp",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public override string StagingName(string name) => name;

    public override string CreateStagingSql(string stagingName, IEnumerable<(string Name, ColumnType Type)> columns) =>
        $"create or replace temp table {stagingName} ({ColumnList(columns, TypeName)})";

    public override IRowWriter OpenRowWriter(DbConnection connection, DbTransaction transaction, string stagingName,
        IReadOnlyList<(string Name, ColumnType Type)> columns) =>
        new DuckDbRowWriter((DuckDBConnection)connection, stagingName, columns);

    public override string InsertReturning(string table, string columns, string values, string keyColumn) =>
        Sql($"insert into {table} ({columns}) values ({values}) returning {keyColumn}");
}
