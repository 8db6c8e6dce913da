using System.Data.Common;
using DuckDB.NET.Data;
using Warehouse.Loading;
using Warehouse.Writing;

namespace Warehouse.Engines;

public sealed partial class DuckDbEngine(string connectionString) : WarehouseEngine(Normalize(connectionString))
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

    /// <summary>
    /// DuckDB's own memory for a loader. The process adds its own to this: the .NET runtime and,
    /// mostly, DuckDB's allocations outside its buffer pool, about 300-360 MB at peak. Measured with
    /// tests/Warehouse.Benchmarks and the loader on one thread: a 1-million-span OTLP load peaked at
    /// 539 MB of RSS under 192 MB and at 490 MB under 128 MB (and ran no slower); DuckDB's default,
    /// 80 % of RAM, took a 1-million-row CSV load to 2.2 GB. 10-million-row files fit too: the fact
    /// tables hold no in-memory unique index (migration 0011), staged rows are committed (in temp
    /// tables, before the batch's transaction) and spill,
    /// and the key steps run half a million keys at a time (<see cref="KeysPerPartition"/>).
    /// </summary>
    public const string DefaultLoaderMemoryLimit = "128MB";

    /// <summary>When set, every connection runs `set memory_limit` unless the connection string sets memory_limit itself.</summary>
    public string? MemoryLimit { get; set; }

    /// <summary>
    /// DuckDB's worker threads for a loader. Each thread keeps memory of its own outside the
    /// memory limit (allocator caches, per-thread operator state): measured on a 1-million-row CSV
    /// load under the 192 MB cap, two threads peaked at 592 MB of RSS and one at 468 MB. Nor do two
    /// threads make it faster on two cores: under the 128 MB cap the same load took 22-23 s with two
    /// and 15-16 s with one (the .NET side needs the other core), and an insert of a million staged
    /// rows into a fact table took 5.6-6.1 s with two and 5.2-5.3 s with one.
    /// </summary>
    public const int DefaultLoaderThreads = 1;

    /// <summary>When set, every connection runs `set threads` unless the connection string sets threads itself.</summary>
    public int? Threads { get; set; }

    public static int ValidThreads(string? value) =>
        value is null ? DefaultLoaderThreads
        : int.TryParse(value.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var threads) && threads is >= 1 and <= 1024
            ? threads
            : throw new Configuration.ConfigurationException($"DuckDb:LoaderThreads '{value}' is not a number of threads from 1 to 1024");

    public static string ValidMemoryLimit(string value) =>
        MemoryLimitPattern().IsMatch(value.Trim())
            ? value.Trim()
            : throw new Configuration.ConfigurationException(
                $"DuckDb:LoaderMemoryLimit '{value}' is not a memory size; use e.g. 128MB, 512MB or 2GB");

    /// <summary>
    /// The most a loader raises DuckDB's memory to after running out: half the machine's memory, at
    /// most 16 GB (DuckDB's own default is 80 %).
    /// </summary>
    public static long MaxLoaderMemoryBytes =>
        Math.Min(16L << 30, Math.Max(1L << 30, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2));

    private static bool IsOutOfMemory(Exception error) =>
        error.Message.Contains("failed to pin block", StringComparison.OrdinalIgnoreCase)
        || error.Message.Contains("could not allocate block", StringComparison.OrdinalIgnoreCase)
        || error.Message.Contains("Out of Memory", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A load that ran out of the capped memory anyway (a user's own wide rows, a setting made too
    /// small) is worth another attempt with twice the cap, up to <see cref="MaxLoaderMemoryBytes"/>:
    /// the batch's transaction left nothing behind, and a nightly load should not fail for that.
    /// </summary>
    public override bool TryRaiseMemoryAfter(Exception error, out string message)
    {
        message = "";
        if (MemoryLimit is null || !IsOutOfMemory(error) || ConnectionString.Contains("memory_limit", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var current = MemoryBytes(MemoryLimit);
        if (current >= MaxLoaderMemoryBytes)
        {
            return false;
        }

        var raised = Math.Min(current * 2, MaxLoaderMemoryBytes);
        var next = $"{raised / 1_000_000}MB";
        message = $"DuckDB ran out of the loader's {MemoryLimit}; loading the file again with {next}";
        MemoryLimit = next;
        return true;
    }

    /// <summary>A DuckDB memory size ("192MB", "1.5GiB") in bytes.</summary>
    public static long MemoryBytes(string size)
    {
        var match = MemoryLimitPattern().Match(size.Trim());
        var number = double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var factor = match.Groups[3].Value.ToUpperInvariant() switch
        {
            "KB" => 1e3, "MB" => 1e6, "GB" => 1e9, "TB" => 1e12,
            "KIB" => 1024d, "MIB" => 1024d * 1024, "GIB" => 1024d * 1024 * 1024, "TIB" => 1024d * 1024 * 1024 * 1024,
            _ => 1d,
        };
        return (long)(number * factor);
    }

    public override string? FailureHint(Exception error) =>
        MemoryLimit is not null && IsOutOfMemory(error)
            ? $"The loader capped DuckDB at {MemoryLimit} (setting DuckDb:LoaderMemoryLimit, raised automatically up to half the machine's memory). "
              + "Raise it, e.g. WAREHOUSE_DUCKDB__LOADERMEMORYLIMIT=1GB, or \"DuckDb\": { \"LoaderMemoryLimit\": \"1GB\" } in appsettings.json."
            : null;

    /// <summary>
    /// An in-memory database attached to the loader's DuckDB instance, so every connection of the process
    /// to the file sees it (unlike a temp table, which only its own connection sees): the staging tables a
    /// sibling connection fills for the batch's transaction live there. Like temp tables, its tables are
    /// uncompressed, spill to the temp directory under the memory cap, and vanish with the process.
    /// </summary>
    public const string SharedCatalog = "warehouse_loader_scratch";

    /// <summary>
    /// A second connection to the same DuckDB instance (DuckDB.NET shares one per file within the process):
    /// it runs on a thread of its own beside the first, DuckDB executing each connection's statement on the
    /// thread that calls it. Not for an in-memory database: each connection to ':memory:' is a database of its own.
    /// </summary>
    public override async Task<DbConnection?> OpenSiblingAsync(CancellationToken cancellationToken)
    {
        var file = FilePath.Trim();
        if (file.Length == 0 || file.StartsWith(":memory:", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var sibling = await OpenAsync(cancellationToken);
        try
        {
            await using var command = sibling.CreateCommand();
            command.CommandText = $"attach if not exists ':memory:' as {SharedCatalog}";
            await command.ExecuteNonQueryAsync(cancellationToken);
            return sibling;
        }
        catch
        {
            await sibling.DisposeAsync();
            throw;
        }
    }

    public override string SharedStagingName(string name) => $"{SharedCatalog}.main.{name}";

    protected override async Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        if (MemoryLimit is not null && !ConnectionString.Contains("memory_limit", StringComparison.OrdinalIgnoreCase))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"set memory_limit = '{MemoryLimit}'";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        if (MemoryLimit is not null)
        {
            // A loader's RSS cap holds only if freed memory goes back to the system: with the allocator's background
            // thread, pages a thread freed are returned while the load runs, not kept for that thread to reuse. Measured
            // on a 1-million-span OTLP load, where a second thread stores the parts while the roll-up appends (see
            // Loader.RollUpWhileStoringAsync): 507-570 MB of RSS without, 459-485 MB with.
            await using var command = connection.CreateCommand();
            command.CommandText = "set allocator_background_threads = true";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        if (Threads is { } threads && !ConnectionString.Contains("threads", StringComparison.OrdinalIgnoreCase))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"set threads = {threads}";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^([0-9]+(\.[0-9]+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex MemoryLimitPattern();

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

    /// <summary>
    /// Measured with a 10-million-row trace CSV under the loader's 192 MB cap: with the staged rows
    /// uncommitted in a temp table inside the batch's transaction, DuckDB ran out of memory in the
    /// duplicate-key delete or in the insert at every cap up to 768 MB (it keeps transaction-local
    /// rows of a temp table where it cannot evict them). Staged and committed before the
    /// transaction (the Appender commits as it flushes), the same steps fit: committed blocks spill
    /// to the temp directory. The staging table stays a temp table: it needs no cleanup after a
    /// killed loader, and DuckDB keeps it uncompressed, where a table of the database file compresses
    /// every column as it is written (1 million staged trace rows: 4.2 s into a temp table, 7.3 s
    /// into a table of the file, the .NET side included); the rows are compressed once, into the fact table.
    /// </summary>
    public override bool StagesBeforeTransaction => true;

    /// <summary>
    /// Measured with the benchmark's 1-million-row canonical CSV into an empty table: staged (4 s)
    /// and then inserted (5 s), it took 15.7-16.3 s; appended straight into the table inside the
    /// batch's transaction, 11.4 s, at the same peak RSS (407 MB): DuckDB writes a large append to a
    /// table of the file as it goes (row groups written optimistically), where uncommitted rows of a
    /// temp table stay in memory (see <see cref="StagesBeforeTransaction"/>).
    /// </summary>
    public override bool AppendsIntoEmptyTables => true;

    /// <summary>Rows appended in one transaction get row ids in append order: the highest of each key is the last record.</summary>
    public override string DeduplicateTableSql(TableSchema schema, long batchId) =>
        $"delete from {schema.QualifiedName} where rowid in (select rowid from (select rowid, row_number() over (partition by "
        + string.Join(", ", schema.NaturalKey.Select(key => key.Name))
        + $" order by rowid desc) as _rank from {schema.QualifiedName} where _batch_id = {batchId}) as ranked where _rank > 1)";

    /// <summary>
    /// Measured with the benchmark's later export (1 million rows onto 1 million, one in ten
    /// changed) under the loader's cap: updating in place took 164.7 s and 698 MB of RSS; deleting the
    /// changed rows and inserting them again from staging takes a fraction of that (see README).
    /// </summary>
    public override bool UpdatesByReplacing => true;

    /// <summary>
    /// Keys per statement in a batch's set-based steps: a join over 10 million string keys ran out
    /// of a 192 MB cap even with committed staging, while each of ten statements over a tenth of
    /// the keys (by hash) fit, at a peak of 425 MB for DuckDB's whole process. Under the 128 MB
    /// default a million keys per statement still ran out in the upsert of a later export (its
    /// joins carry every column); half a million did not, and cost a first load nothing measurable.
    /// </summary>
    public long KeysPerPartition { get; set; } = 500_000;

    public override int KeyPartitions(long stagedRows) =>
        (int)Math.Clamp((stagedRows + KeysPerPartition - 1) / Math.Max(1, KeysPerPartition), 1, 4096);

    protected override string KeyPartitionCondition(string alias, TableSchema schema, int partition, int partitions) =>
        $"hash({string.Join(", ", schema.NaturalKey.Select(key => $"{alias}.{key.Name}"))}) % {partitions} = {partition}";

    public override string CreateStagingSql(string stagingName, IEnumerable<(string Name, ColumnType Type)> columns) =>
        stagingName.Contains('.')
            ? $"create or replace table {stagingName} ({ColumnList(columns, TypeName)})"
            : $"create or replace temp table {stagingName} ({ColumnList(columns, TypeName)})";

    public override IRowWriter OpenRowWriter(DbConnection connection, DbTransaction transaction, string stagingName,
        IReadOnlyList<(string Name, ColumnType Type)> columns) =>
        new DuckDbRowWriter((DuckDBConnection)connection, stagingName, columns);

    public override string InsertReturning(string table, string columns, string values, string keyColumn) =>
        Sql($"insert into {table} ({columns}) values ({values}) returning {keyColumn}");
}
