using System.Data.Common;
using System.Text;
using System.Text.RegularExpressions;
using Warehouse.Loading;
using Warehouse.Writing;

namespace Warehouse.Engines;

public enum EngineKind
{
    DuckDb,
    Postgres,
    SqlServer,
}

/// <summary>
/// What differs between the three engines: connecting, the dialect of the loader's few
/// statements, and the bulk writer. Everything else (sources, loading rules) is shared.
/// </summary>
public abstract partial class WarehouseEngine(string connectionString)
{
    public string ConnectionString { get; } = connectionString;

    public abstract EngineKind Kind { get; }

    /// <summary>The name `--engine` takes.</summary>
    public abstract string Name { get; }

    /// <summary>The connection string with passwords and tokens masked, safe to print.</summary>
    public virtual string DisplayConnection => ConnectionStrings.Mask(ConnectionString);

    public static WarehouseEngine Create(string engine, string connectionString) => engine.ToLowerInvariant() switch
    {
        "duckdb" => new DuckDbEngine(connectionString),
        "postgres" or "postgresql" => new PostgresEngine(connectionString),
        "sqlserver" or "mssql" => new SqlServerEngine(connectionString),
        _ => throw new ArgumentException($"unknown engine '{engine}'; use duckdb, postgres or sqlserver"),
    };

    public abstract DbConnection CreateConnection();

    /// <summary>True for files the engine itself keeps (so loading a folder never tries to load them).</summary>
    public virtual bool IsOwnFile(string fullPath) => false;

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = CreateConnection();
        try
        {
            await connection.OpenAsync(cancellationToken);
            await OnOpenedAsync(connection, cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// After a load failed for lack of memory the engine may raise its own limit and say so: the
    /// loader then loads the file again.
    /// </summary>
    public virtual bool TryRaiseMemoryAfter(Exception error, out string message)
    {
        message = "";
        return false;
    }

    /// <summary>What the user can do about a failed load, when the engine knows (appended to the message).</summary>
    public virtual string? FailureHint(Exception error) => null;

    /// <summary>
    /// Fresh planner statistics for a small table that just changed, where the engine would not
    /// gather them itself soon enough; null where it does.
    /// </summary>
    public virtual string? RefreshStatisticsSql(string table) => null;

    /// <summary>Session settings an engine applies to every connection it opens.</summary>
    protected virtual Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// True for errors that say the database went away or is briefly unavailable (a restart, a
    /// dropped connection, a failover, a timeout), after which the same work may succeed: the loader
    /// retries those. An error about the data or the SQL is not transient.
    /// </summary>
    public virtual bool IsTransient(DbException error) =>
        error.IsTransient || error.InnerException is IOException or System.Net.Sockets.SocketException or TimeoutException;

    /// <summary>SQL is written with @name parameters; engines that spell them otherwise rewrite here.</summary>
    public virtual string Sql(string sql) => sql;

    public abstract string TypeName(ColumnType type);

    /// <summary>The name a connection-local staging table has in this engine.</summary>
    public abstract string StagingName(string name);

    public abstract string CreateStagingSql(string stagingName, IEnumerable<(string Name, ColumnType Type)> columns);

    public abstract IRowWriter OpenRowWriter(DbConnection connection, DbTransaction transaction, string stagingName,
        IReadOnlyList<(string Name, ColumnType Type)> columns);

    /// <summary>
    /// Makes reads of a staging table by ranges of one column cheap, after it was filled in that
    /// column's order. DuckDB needs nothing: its zone maps of a table written in order already skip
    /// every row group outside the range. The server engines get an index.
    /// </summary>
    public virtual string? IndexStagingSql(string stagingName, string column) => null;

    /// <summary>An insert of one row that hands back the generated key column.</summary>
    public abstract string InsertReturning(string table, string columns, string values, string keyColumn);

    /// <summary>
    /// True where a batch fills and commits its staging table before the batch's transaction
    /// begins (and drops it after it ends), instead of filling it inside that transaction. DuckDB:
    /// its capped memory cannot hold ten million uncommitted staged rows and join them too, while
    /// committed rows spill to disk (see DuckDbEngine).
    /// </summary>
    public virtual bool StagesBeforeTransaction => false;

    /// <summary>
    /// A second connection to the same database, for a step that runs beside the batch's transaction
    /// on the first (a trace batch's roll-up, while its parts are stored); null where the engine does
    /// not run steps side by side (then they run one after the other). The two connections share
    /// staging tables named by <see cref="SharedStagingName"/> only.
    /// </summary>
    public virtual Task<DbConnection?> OpenSiblingAsync(CancellationToken cancellationToken) => Task.FromResult<DbConnection?>(null);

    /// <summary>A staging table that both a connection and its sibling (<see cref="OpenSiblingAsync"/>) see.</summary>
    public virtual string SharedStagingName(string name) => StagingName(name);

    /// <summary>
    /// True where a batch into an empty fact table appends its rows straight into the table inside
    /// the batch's transaction, with no staging table (rejects still go to one), and removes the
    /// earlier of two rows with one key afterwards (<see cref="DeduplicateTableSql"/>). DuckDB: a
    /// million rows went in twice over, into staging and again into the table (see DuckDbEngine).
    /// </summary>
    public virtual bool AppendsIntoEmptyTables => false;

    /// <summary>Keeps the last appended row of each natural key among the rows one batch appended (<see cref="AppendsIntoEmptyTables"/>).</summary>
    public virtual string DeduplicateTableSql(TableSchema schema, long batchId) =>
        throw new NotSupportedException($"{Name} does not append into fact tables");

    /// <summary>Prefix of the staging tables in etl that a killed loader of an earlier version may have left behind.</summary>
    public const string CommittedStagingPrefix = "stage_";

    /// <summary>
    /// Into how many key partitions the set-based steps of a batch of this many staged rows are
    /// split: each statement then handles the keys whose hash falls in one partition, so its joins
    /// hold a bounded share of the keys. One (no split) where the engine's joins spill on their own.
    /// </summary>
    public virtual int KeyPartitions(long stagedRows) => 1;

    /// <summary>The condition that a row of <paramref name="alias"/> belongs to one key partition (see <see cref="KeyPartitions"/>).</summary>
    protected virtual string KeyPartitionCondition(string alias, TableSchema schema, int partition, int partitions) =>
        throw new NotSupportedException($"{Name} does not split batches into key partitions");

    private string PartitionFilter(string alias, TableSchema schema, KeyPartition? partition) =>
        partition is { Count: > 1 } split ? " and " + KeyPartitionCondition(alias, schema, split.Index, split.Count) : "";

    /// <summary>Keeps the last record of each natural key in a staging table (later record wins).</summary>
    public virtual string DeduplicateSql(string stagingName, TableSchema schema, KeyPartition? partition = null) =>
        $"delete from {stagingName} where exists (select 1 from {stagingName} as later where "
        + string.Join(" and ", schema.NaturalKey.Select(key => $"later.{key.Name} = {stagingName}.{key.Name}"))
        + $" and later._stage_row > {stagingName}._stage_row{PartitionFilter("later", schema, partition)})"
        + PartitionFilter(stagingName, schema, partition);

    /// <summary>Updates rows whose values changed; rows identical to the stored ones are left alone.</summary>
    public virtual string UpdateChangedSql(string stagingName, TableSchema schema, KeyPartition? partition = null)
    {
        var (set, match, changed) = UpdateParts(schema);
        return $"update {schema.QualifiedName} as target set {set} from {stagingName} as stage where {match} and ({changed})"
            + PartitionFilter("stage", schema, partition) + PartitionFilter("target", schema, partition);
    }

    /// <summary>
    /// True where a fact-table batch replaces changed rows (deletes them, and the insert step adds
    /// them back from staging) instead of updating them in place. DuckDB: an in-place update keeps
    /// per-column undo and update data in memory until the next checkpoint (see DuckDbEngine).
    /// </summary>
    public virtual bool UpdatesByReplacing => false;

    /// <summary>Deletes the stored rows the staging table changes (for <see cref="UpdatesByReplacing"/>).</summary>
    public virtual string DeleteChangedSql(string stagingName, TableSchema schema, KeyPartition? partition = null)
    {
        var (_, match, changed) = UpdateParts(schema);
        return $"delete from {schema.QualifiedName} as target using {stagingName} as stage where {match} and ({changed})"
            + PartitionFilter("stage", schema, partition) + PartitionFilter("target", schema, partition);
    }

    /// <summary>Inserts every staged row: for a table that holds no row yet, once the staging table holds no key twice.</summary>
    public string InsertAllSql(string stagingName, TableSchema schema)
    {
        var columns = string.Join(", ", schema.Columns.Select(column => column.Name));
        return $"insert into {schema.QualifiedName} ({columns}) select {columns} from {stagingName}";
    }

    public string InsertNewSql(string stagingName, TableSchema schema, KeyPartition? partition = null)
    {
        var columns = string.Join(", ", schema.Columns.Select(column => column.Name));
        var selected = string.Join(", ", schema.Columns.Select(column => "stage." + column.Name));
        var match = string.Join(" and ", schema.NaturalKey.Select(key => $"target.{key.Name} = stage.{key.Name}"));
        return $"insert into {schema.QualifiedName} ({columns}) select {selected} from {stagingName} as stage "
            + $"where not exists (select 1 from {schema.QualifiedName} as target where {match}{PartitionFilter("target", schema, partition)})"
            + PartitionFilter("stage", schema, partition);
    }

    protected static (string Set, string Match, string Changed) UpdateParts(TableSchema schema)
    {
        var valueColumns = schema.Columns.Where(column => column.Role != ColumnRole.NaturalKey).ToList();
        var set = string.Join(", ", valueColumns.Select(column => $"{column.Name} = stage.{column.Name}"));
        var match = string.Join(" and ", schema.NaturalKey.Select(key => $"target.{key.Name} = stage.{key.Name}"));
        var changed = string.Join(" or ", valueColumns
            .Where(column => column.Role != ColumnRole.Bookkeeping)
            .Select(column => $"target.{column.Name} is distinct from stage.{column.Name}"));
        return (set, match, changed);
    }

    protected static string ColumnList(IEnumerable<(string Name, ColumnType Type)> columns, Func<ColumnType, string> typeName)
    {
        var builder = new StringBuilder();
        foreach (var (name, type) in columns)
        {
            if (builder.Length > 0)
            {
                builder.Append(", ");
            }

            builder.Append(name).Append(' ').Append(typeName(type));
        }

        return builder.ToString();
    }

    [GeneratedRegex(@"(?<![\w@$])@(\w+)")]
    protected static partial Regex AtParameter();
}

/// <summary>One of <see cref="Count"/> key partitions of a batch (see <see cref="WarehouseEngine.KeyPartitions"/>).</summary>
public readonly record struct KeyPartition(int Index, int Count)
{
    public static IEnumerable<KeyPartition> All(int count) => Enumerable.Range(0, Math.Max(1, count)).Select(index => new KeyPartition(index, Math.Max(1, count)));
}
