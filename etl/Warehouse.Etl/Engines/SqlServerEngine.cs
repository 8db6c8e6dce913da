using System.Data.Common;
using Microsoft.Data.SqlClient;
using Warehouse.Loading;
using Warehouse.Writing;

namespace Warehouse.Engines;

public sealed class SqlServerEngine(string connectionString) : WarehouseEngine(connectionString)
{
    public override EngineKind Kind => EngineKind.SqlServer;

    public override string Name => "sqlserver";

    public override DbConnection CreateConnection() => new SqlConnection(ConnectionString);

    // SQL Server and Azure SQL's transient errors: timeouts, broken transport, failovers and
    // throttling (the numbers Microsoft documents for Azure SQL retry logic), deadlock victims.
    private static readonly HashSet<int> TransientNumbers =
        [-2, 20, 64, 233, 1205, 4060, 4221, 10053, 10054, 10060, 10928, 10929, 40143, 40197, 40501, 40540, 40613, 42108, 42109, 49918, 49919, 49920];

    public override bool IsTransient(DbException error) =>
        base.IsTransient(error) || error is SqlException sql && sql.Errors.Cast<SqlError>().Any(item => TransientNumbers.Contains(item.Number));

    public override string TypeName(ColumnType type) => type switch
    {
        // The fact tables' key columns are binary-collated; staging text must match, or joins on
        // keys fail with a collation conflict against tempdb's default.
        ColumnType.Text => "nvarchar(max) collate Latin1_General_100_BIN2",
        ColumnType.Integer => "int",
        ColumnType.BigInt => "bigint",
        ColumnType.Double => "float",
        ColumnType.Boolean => "bit",
        ColumnType.Timestamp => "datetime2(6)",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public override string StagingName(string name) => "#" + name;

    public override string CreateStagingSql(string stagingName, IEnumerable<(string Name, ColumnType Type)> columns) =>
        $"create table {stagingName} ({ColumnList(columns, TypeName)})";

    public override string? IndexStagingSql(string stagingName, string column) =>
        $"create clustered index ix_{stagingName.TrimStart('#')}__{column} on {stagingName} ({column})";

    public override IRowWriter OpenRowWriter(DbConnection connection, DbTransaction transaction, string stagingName,
        IReadOnlyList<(string Name, ColumnType Type)> columns) =>
        new SqlServerRowWriter((SqlConnection)connection, (SqlTransaction)transaction, stagingName, columns);

    public override string InsertReturning(string table, string columns, string values, string keyColumn) =>
        $"insert into {table} ({columns}) output inserted.{keyColumn} values ({values})";

    // T-SQL wants the target of a correlated delete named by alias. SQL Server's joins spill on
    // their own: it never splits a batch into key partitions.
    public override string DeduplicateSql(string stagingName, TableSchema schema, KeyPartition? partition = null) =>
        $"delete stage from {stagingName} as stage where exists (select 1 from {stagingName} as later where "
        + string.Join(" and ", schema.NaturalKey.Select(key => $"later.{key.Name} = stage.{key.Name}"))
        + " and later._stage_row > stage._stage_row)";

    // T-SQL has no `update ... as alias`; the alias lives in the from clause. IS DISTINCT FROM
    // needs SQL Server 2022 or Azure SQL, the design's targets.
    public override string UpdateChangedSql(string stagingName, TableSchema schema, KeyPartition? partition = null)
    {
        var (set, match, changed) = UpdateParts(schema);
        return $"update target set {set} from {schema.QualifiedName} as target inner join {stagingName} as stage on {match} where ({changed})";
    }
}
