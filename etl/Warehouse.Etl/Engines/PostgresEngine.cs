using System.Data.Common;
using Npgsql;
using Warehouse.Loading;
using Warehouse.Writing;

namespace Warehouse.Engines;

public sealed class PostgresEngine(string connectionString) : WarehouseEngine(connectionString)
{
    // Npgsql writes DateTime.MinValue/MaxValue as -infinity/infinity unless told not to: the
    // warehouse stores 0001-01-01 as that instant, as DuckDB and SQL Server do. Set before Npgsql
    // reads it (its first use happens through this engine).
    static PostgresEngine() => AppContext.SetSwitch("Npgsql.DisableDateTimeInfinityConversions", true);

    public override EngineKind Kind => EngineKind.Postgres;

    public override string Name => "postgres";

    public override DbConnection CreateConnection() => new NpgsqlConnection(ConnectionString);

    // Besides what Npgsql calls transient (broken sockets, timeouts): the server shutting down or
    // restarting (57P01-57P03), connection failures (08xxx) and insufficient resources (53xxx: disk
    // full, out of memory, too many connections). None of them is the file's fault: the file is
    // retried, and left in the inbox when the retries run out, never quarantined.
    public override bool IsTransient(DbException error) =>
        base.IsTransient(error)
        || error is PostgresException { SqlState: "57P01" or "57P02" or "57P03" }
        || error is PostgresException { SqlState: var state } && (state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("53", StringComparison.Ordinal));

    public override string TypeName(ColumnType type) => type switch
    {
        ColumnType.Text => "text",
        ColumnType.Integer => "integer",
        ColumnType.BigInt => "bigint",
        ColumnType.Double => "double precision",
        ColumnType.Boolean => "boolean",
        ColumnType.Timestamp => "timestamptz",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public override string StagingName(string name) => name;

    // on commit drop: a staging table never outlives its batch, even on a pooled connection.
    public override string CreateStagingSql(string stagingName, IEnumerable<(string Name, ColumnType Type)> columns) =>
        $"create temp table {stagingName} ({ColumnList(columns, TypeName)}) on commit drop";

    // Autovacuum analyzes a table after 50 changed rows: quality.comparisons (a handful of rows)
    // would stay unanalyzed, PostgreSQL would assume about 50 comparisons, and the views' join of
    // each to a million traces would be costed so high that the JIT compiled for seconds.
    public override string? RefreshStatisticsSql(string table) => $"analyze {table}";

    // A temp table is never analyzed by autovacuum: without statistics the planner would scan it
    // whole for every range.
    public override string? IndexStagingSql(string stagingName, string column) =>
        $"create index on {stagingName} ({column}); analyze {stagingName}";

    public override IRowWriter OpenRowWriter(DbConnection connection, DbTransaction transaction, string stagingName,
        IReadOnlyList<(string Name, ColumnType Type)> columns) =>
        new PostgresRowWriter((NpgsqlConnection)connection, stagingName, columns);

    public override string InsertReturning(string table, string columns, string values, string keyColumn) =>
        $"insert into {table} ({columns}) values ({values}) returning {keyColumn}";
}
