using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Warehouse.Engines;
using Warehouse.Sources;
using Warehouse.Writing;

namespace Warehouse.Loading;

/// <summary>How to load: forced format or kind, a forced re-load, and companion files by role (e.g. "samples").</summary>
public sealed record LoadOptions(string? Format = null, string? Kind = null, bool Force = false,
    IReadOnlyDictionary<string, string>? Companions = null);

/// <summary>For trace-store exports: how many traces the batch touched, rolled up, and left waiting for their spans.</summary>
public sealed record TraceRollupCounts(long Touched, long RolledUp, long Waiting, long Rejected);

/// <summary>Where a rejected record was and why, as the loader reports it.</summary>
public sealed record RejectedRecord(long RecordNumber, string Reason);

public enum FileLoadStatus
{
    Loaded,
    LoadedWithRejects,
    Skipped,
    Failed,
}

public sealed record FileLoadResult(
    string FilePath,
    FileLoadStatus Status,
    long? BatchId = null,
    string? Format = null,
    string? Table = null,
    long RowsRead = 0,
    long RowsLoaded = 0,
    long RowsRejected = 0,
    long RowsInserted = 0,
    long RowsUpdated = 0,
    string? Message = null,
    IReadOnlyList<RejectedRecord>? FirstRejects = null,
    TraceRollupCounts? Traces = null,
    string? ReadWithFile = null)
{
    /// <summary>Target rows that were written but equal to what was stored.</summary>
    public long RowsUnchanged => Math.Max(0, (Traces?.RolledUp ?? RowsLoaded) - RowsInserted - RowsUpdated);
}

/// <summary>
/// Loads one file as one batch in one transaction: records stream from the source through the
/// record builder into a staging table by the engine's bulk path, then a set-based upsert moves
/// them into the fact table. Rejected records are kept with their line and reason; the batch is
/// recorded in etl.load_batches before it starts, so even a failed load leaves a trace.
/// </summary>
public sealed partial class Loader(WarehouseEngine engine, TimeProvider? clock = null, SourceSettings? settings = null, LoadRetry? retry = null)
{
    private const int MaxRawRecordBytes = 64 * 1024;
    private const int MaxReasonLength = 2000;
    private const int RejectsToReport = 20;

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>
    /// Files and folders (searched recursively, in name order) to the files to load. Hidden files
    /// and the warehouse's own files (a DuckDB database kept beside its inputs) are passed over.
    /// </summary>
    public static IEnumerable<string> ExpandPaths(IEnumerable<string> paths, Func<string, bool>? isOwnFile = null)
    {
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                             .Where(file => !Path.GetFileName(file).StartsWith('.') && isOwnFile?.Invoke(Path.GetFullPath(file)) != true)
                             .Order(StringComparer.Ordinal))
                {
                    yield return file;
                }
            }
            else
            {
                yield return path;
            }
        }
    }

    /// <summary>
    /// Loads one file as one batch. When the database goes away (a restart, a dropped connection,
    /// a failover), the interrupted batch is marked failed where the database still answers and the
    /// file is loaded again from the start after a backoff, up to <see cref="LoadRetry.MaxAttempts"/>
    /// times; then the error propagates. The transaction guarantees an interrupted attempt left nothing.
    /// </summary>
    public async Task<FileLoadResult> LoadFileAsync(string path, LoadOptions options, CancellationToken cancellationToken)
    {
        var pipeline = (retry ?? LoadRetry.Default).Pipeline(engine, (attempt, delay, error) =>
            OnRetry?.Invoke($"{Path.GetFullPath(path)}: the database connection failed ({ConnectionStrings.Scrub(error.Message, engine.ConnectionString)}); "
                + $"loading the file again in {delay.TotalSeconds:0.#} s (retry {attempt})"));
        while (true)
        {
            try
            {
                return await pipeline.ExecuteAsync(async token => await LoadOnceAsync(path, options, token), cancellationToken);
            }
            catch (OutOfMemoryRetry retryWithMore)
            {
                OnRetry?.Invoke($"{Path.GetFullPath(path)}: {retryWithMore.Message}");
            }
        }
    }

    /// <summary>A batch ran out of the engine's memory, which the engine has raised: load the file again.</summary>
    private sealed class OutOfMemoryRetry(string message) : Exception(message);

    /// <summary>Told before each retry after a transient database failure (for the operator's log).</summary>
    public Action<string>? OnRetry { get; init; }

    /// <summary>
    /// What the batch in progress is doing ("staging the file's records", "inserting new rows", …):
    /// a failure names it, so an out-of-memory error or a constraint says where in the load it hit.
    /// </summary>
    private string? _step;

    private string AtStep => _step is null ? "" : $" (while {_step})";

    private async Task<FileLoadResult> LoadOnceAsync(string path, LoadOptions options, CancellationToken cancellationToken)
    {
        _step = null;
        var filePath = Path.GetFullPath(path);
        if (!File.Exists(filePath))
        {
            return new FileLoadResult(filePath, FileLoadStatus.Failed, Message: $"{filePath}: no such file");
        }

        var companions = (options.Companions ?? new Dictionary<string, string>())
            .ToDictionary(pair => pair.Key, pair => Path.GetFullPath(pair.Value));
        foreach (var (role, companion) in companions)
        {
            if (!File.Exists(companion))
            {
                return new FileLoadResult(filePath, FileLoadStatus.Failed, Message: $"{companion}: no such file (given as the {role} file)");
            }
        }

        DetectedSource? source = null;
        string? detectionError = null;
        try
        {
            source = SourceDetector.Detect(filePath, options.Format, options.Kind, settings, companions);
        }
        catch (LoadException error)
        {
            detectionError = error.Message;
        }

        if (source?.Format.MainFileFor(source.File) is { } mainFile)
        {
            return new FileLoadResult(filePath, FileLoadStatus.Skipped, Format: source.Format.Name,
                Message: $"read with {mainFile} when that file loads ({source.Format.Name} is not loaded on its own)", ReadWithFile: mainFile);
        }

        // The hash covers the file and every companion it is read with: a new feedback file makes a new batch.
        var hashed = source is null
            ? companions
            : companions.Concat(source.Format.ImpliedCompanions(source.File)).ToDictionary(pair => pair.Key, pair => Path.GetFullPath(pair.Value));
        string[] hashedPaths = [filePath, .. hashed.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => pair.Value)];
        var fileSize = new FileInfo(filePath).Length;

        await using var connection = await engine.OpenAsync(cancellationToken);
        Task<string>? fileHash = null;
        DateTime startedAt;
        long batchId;
        string? hashAtStart;
        try
        {
            if (source is null || (!options.Force && await MayHaveBeenLoadedAsync(connection, source, fileSize, cancellationToken)))
            {
                var hash = HashFiles(hashedPaths, readAhead: true, cancellationToken);
                fileHash = Task.FromResult(hash);
                var previous = source is null ? null : await connection.ExecuteScalarAsync<long?>(engine.Sql(
                    "select max(batch_id) from etl.load_batches where file_hash = @hash and target_table = @table "
                    + "and status in ('loaded', 'loaded_with_rejects')"),
                    new { hash, table = source.Schema.QualifiedName });
                if (previous is not null)
                {
                    return new FileLoadResult(filePath, FileLoadStatus.Skipped, previous, source!.Format.Name, source.Schema.QualifiedName,
                        Message: $"identical to the file loaded in batch {previous}; nothing to do (use --force to load it again)");
                }
            }
            else
            {
                // No batch of this table loaded a file of this size, so this one cannot be a file loaded before (or it is
                // forced): its hash is only recorded, and is computed on its own thread while the batch reads the file
                // (0.8 s for 850 MB, on a core the load leaves partly idle), then written with the batch's status.
                fileHash = Task.Factory.StartNew(() => HashFiles(hashedPaths, readAhead: false, cancellationToken), cancellationToken,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }

            startedAt = UtcNow();
            hashAtStart = fileHash.IsCompletedSuccessfully ? fileHash.Result : null;
            batchId = await connection.ExecuteScalarAsync<long>(engine.InsertReturning(
                "etl.load_batches",
                "file_path, file_hash, file_size_bytes, source_format, target_table, started_at, status",
                "@filePath, @hash, @fileSize, @format, @table, @startedAt, 'running'",
                "batch_id"),
                new { filePath, hash = hashAtStart ?? HashPending, fileSize,
                    format = source?.Format.Name, table = source?.Schema.QualifiedName, startedAt });
        }
        catch (Exception error) when (error is not OperationCanceledException && engine.TryRaiseMemoryAfter(error, out var raised))
        {
            // Out of the engine's memory before the batch began (nothing to record it on): load the file again with more.
            await HashedAsync(fileHash);
            throw new OutOfMemoryRetry($"{raised} (it ran out before the batch began)");
        }
        catch
        {
            await HashedAsync(fileHash);
            throw;
        }

        _pendingHash = hashAtStart is null ? fileHash : null;
        try
        {
            return await LoadBatchOfAsync(connection, source, detectionError, filePath, batchId, startedAt, cancellationToken);
        }
        finally
        {
            // Never leave the hash reading the file after the load returns (a failure or a cancel before it finished).
            await HashedAsync(fileHash);
            _pendingHash = null;
        }
    }

    /// <summary>
    /// What a batch row's file_hash holds until the hash computed beside the load is known: it is written with the
    /// batch's status, so it stays only on a batch whose file could not be read to the end, that was cancelled before
    /// the hash was done, or whose loader was killed.
    /// </summary>
    private const string HashPending = "";

    /// <summary>
    /// The hash computed beside the batch's load, while its row holds <see cref="HashPending"/>; null when the row was
    /// written with the hash (it was taken before the load) or no batch is loading.
    /// </summary>
    private Task<string>? _pendingHash;

    /// <summary>Whether a loaded batch of the source's table had a file of this size: only then can the file be one loaded before.</summary>
    private async Task<bool> MayHaveBeenLoadedAsync(DbConnection connection, DetectedSource source, long fileSize, CancellationToken cancellationToken) =>
        await connection.ExecuteScalarAsync<int>(new CommandDefinition(engine.Sql(
                "select case when exists (select 1 from etl.load_batches where file_size_bytes = @fileSize and target_table = @table "
                + "and status in ('loaded', 'loaded_with_rejects')) then 1 else 0 end"),
            new { fileSize, table = source.Schema.QualifiedName }, cancellationToken: cancellationToken)) == 1;

    /// <summary>The file hash once its task has ended, or null if it failed or was cancelled.</summary>
    private static async Task<string?> HashedAsync(Task<string>? fileHash)
    {
        if (fileHash is null)
        {
            return null;
        }

        await ((Task)fileHash).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return fileHash.IsCompletedSuccessfully ? fileHash.Result : null;
    }

    private async Task<FileLoadResult> LoadBatchOfAsync(DbConnection connection, DetectedSource? source, string? detectionError,
        string filePath, long batchId, DateTime startedAt, CancellationToken cancellationToken)
    {
        if (source is null)
        {
            await FinishFailedAsync(connection, batchId, detectionError!);
            return new FileLoadResult(filePath, FileLoadStatus.Failed, batchId, Message: detectionError);
        }

        try
        {
            return source.Format is Traces.TracePartFormat
                ? await LoadTracePartsAsync(connection, source, filePath, batchId, startedAt, cancellationToken)
                : await LoadBatchAsync(connection, source, filePath, batchId, startedAt, cancellationToken);
        }
        catch (DbException error) when (engine.IsTransient(error))
        {
            // The database went away mid-batch: the transaction is gone with it. Record the failure if the
            // database still answers, and let the retry load the file again.
            await TryFinishFailedAsync(batchId, $"{filePath}: interrupted, the database connection failed ({ConnectionStrings.Scrub(error.Message, engine.ConnectionString)})");
            throw;
        }
        catch (Exception error) when (error is System.Text.Json.JsonException or InvalidDataException or FormatException)
        {
            // The file's structure broke partway (truncated JSON, a corrupt gzip stream): nothing of
            // it is kept, and the message says where.
            var message = $"{filePath}: the file cannot be read to the end ({error.Message})";
            await FinishFailedAsync(connection, batchId, message);
            return new FileLoadResult(filePath, FileLoadStatus.Failed, batchId, source.Format.Name, source.Schema.QualifiedName, Message: message);
        }
        catch (Exception error) when (error is not OperationCanceledException && engine.TryRaiseMemoryAfter(error, out var raised))
        {
            await FinishFailedAsync(connection, batchId, $"{filePath}: {FirstLine(error.Message)}{AtStep}; {raised}");
            throw new OutOfMemoryRetry($"{raised}{AtStep.Replace(" (while ", " (it ran out while ", StringComparison.Ordinal)}");
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            var message = error is LoadException ? error.Message : $"{filePath}: {error.Message}{AtStep}";
            if (engine.FailureHint(error) is { } hint)
            {
                message += "\n" + hint;
            }

            message = ConnectionStrings.Scrub(message, engine.ConnectionString);
            await FinishFailedAsync(connection, batchId, message);
            return new FileLoadResult(filePath, FileLoadStatus.Failed, batchId, source.Format.Name, source.Schema.QualifiedName, Message: message);
        }
        catch (OperationCanceledException)
        {
            await FinishFailedAsync(connection, batchId, "cancelled");
            throw;
        }
    }

    private async Task<FileLoadResult> LoadBatchAsync(DbConnection connection, DetectedSource source, string filePath,
        long batchId, DateTime startedAt, CancellationToken cancellationToken)
    {
        var schema = source.Schema;
        // One staging table holds accepted rows and rejected records alike (a reject has only
        // _record_number, _reject_reason and _raw_record), because PostgreSQL allows one COPY per
        // connection at a time and a reject list must not be held in memory. The fact table changes
        // only in the batch's transaction (see BatchScope for where the staging happens).
        var staging = engine.StagingName($"stage_{schema.TableName}_{batchId}");
        await using var batch = await BatchScope.OpenAsync(connection, engine, [staging], cancellationToken);
        // Into an empty table, where the engine allows it, the rows go straight in inside the batch's transaction and the
        // staging table takes only the rejects (see WarehouseEngine.AppendsIntoEmptyTables).
        _step = $"checking whether {schema.QualifiedName} is empty";
        var appendInto = await AppendsIntoAsync(connection, source, schema, cancellationToken);
        _step = appendInto ? $"appending the file's records to {schema.QualifiedName}" : "staging the file's records";
        var stagingTransaction = appendInto ? await batch.TransactionAsync(cancellationToken) : batch.Staging;
        await ExecuteAsync(connection, stagingTransaction, engine.CreateStagingSql(staging, StagingColumns(schema)), cancellationToken);
        var staged = await StageRecordsAsync(connection, stagingTransaction, source, schema, staging, batchId, startedAt, appendInto,
            cancellationToken);
        if (staged.Read == 0)
        {
            throw new LoadException($"{filePath}: the file holds no records");
        }

        var transaction = await batch.TransactionAsync(cancellationToken);
        if (staged.Rejected > 0)
        {
            _step = "keeping the rejected records";
            await MoveRejectsAsync(connection, transaction, staging, batchId, filePath, startedAt, cancellationToken);
        }

        long updated = 0, inserted = 0;
        if (appendInto)
        {
            inserted = staged.Accepted;
            if (staged.KeysMayRepeat)
            {
                _step = $"keeping the last record of each key in {schema.QualifiedName}";
                inserted -= await ExecuteAsync(connection, transaction, engine.DeduplicateTableSql(schema, batchId), cancellationToken);
            }
        }
        else
        {
            var partitions = engine.KeyPartitions(staged.Accepted);
            var hasRows = await HasRowsAsync(connection, transaction, schema, cancellationToken);
            foreach (var partition in KeyPartition.All(partitions))
            {
                var of = partitions > 1 ? $", key partition {partition.Index + 1} of {partitions}" : "";
                _step = $"keeping the last record of each key{of}";
                await ExecuteAsync(connection, transaction, engine.DeduplicateSql(staging, schema, partition), cancellationToken);
                if (hasRows)
                {
                    _step = $"updating the changed rows of {schema.QualifiedName}{of}";
                    updated += await ExecuteAsync(connection, transaction, engine.UpdatesByReplacing
                        ? engine.DeleteChangedSql(staging, schema, partition)
                        : engine.UpdateChangedSql(staging, schema, partition), cancellationToken);
                    _step = $"inserting the new rows into {schema.QualifiedName}{of}";
                    inserted += await ExecuteAsync(connection, transaction, engine.InsertNewSql(staging, schema, partition), cancellationToken);
                }
            }

            if (!hasRows)
            {
                // An empty table (a first load) where rows are staged: every deduplicated staged row is new, and one plain
                // insert spares the anti-join and a pass over the staging table per key partition.
                _step = $"inserting the rows into {schema.QualifiedName}";
                inserted = await ExecuteAsync(connection, transaction, engine.InsertAllSql(staging, schema), cancellationToken);
            }
        }

        if (engine.UpdatesByReplacing)
        {
            // The changed rows were deleted and went back in with the new ones: they count as updated.
            inserted -= updated;
        }

        _step = "committing the batch";
        var status = await FinishBatchAsync(connection, transaction, batchId, staged.Read, staged.Accepted, staged.Rejected, inserted, updated,
            cancellationToken);

        return new FileLoadResult(filePath, status, batchId, source.Format.Name, schema.QualifiedName, staged.Read, staged.Accepted, staged.Rejected,
            inserted, updated,
            staged.Rejected > 0 ? $"{staged.Rejected} record(s) rejected; see etl.rejected_records where batch_id = {batchId}" : null,
            staged.FirstRejects);
    }

    /// <summary>
    /// A batch's transaction and staging tables. Where the engine stages before the transaction
    /// (<see cref="WarehouseEngine.StagesBeforeTransaction"/>, DuckDB), the transaction begins when
    /// first asked for and the staging tables, committed as they filled, are dropped when the batch
    /// ends either way; elsewhere the transaction is open from the start and holds them.
    /// </summary>
    private sealed class BatchScope : IAsyncDisposable
    {
        private readonly DbConnection _connection;
        private readonly WarehouseEngine _engine;
        private readonly string[] _stagingTables;

        private BatchScope(DbConnection connection, WarehouseEngine engine, string[] stagingTables)
        {
            _connection = connection;
            _engine = engine;
            _stagingTables = stagingTables;
        }

        private DbTransaction? _transaction;

        /// <summary>The transaction to stage in: null where the engine stages before it.</summary>
        public DbTransaction? Staging => _engine.StagesBeforeTransaction ? null : _transaction;

        public static async Task<BatchScope> OpenAsync(DbConnection connection, WarehouseEngine engine, string[] stagingTables,
            CancellationToken cancellationToken)
        {
            var scope = new BatchScope(connection, engine, stagingTables);
            if (!engine.StagesBeforeTransaction)
            {
                scope._transaction = await connection.BeginTransactionAsync(cancellationToken);
            }

            return scope;
        }

        /// <summary>The batch's transaction, begun now where the engine staged before it.</summary>
        public async Task<DbTransaction> TransactionAsync(CancellationToken cancellationToken) =>
            _transaction ??= await _connection.BeginTransactionAsync(cancellationToken);

        public async ValueTask DisposeAsync()
        {
            if (_transaction is not null)
            {
                await _transaction.DisposeAsync();
            }

            if (_engine.StagesBeforeTransaction)
            {
                foreach (var staging in _stagingTables)
                {
                    await TryDropAsync(_connection, staging);
                }
            }
        }
    }

    private sealed record StagedRecords(long Read, long Accepted, long Rejected, List<RejectedRecord> FirstRejects, bool KeysMayRepeat = true);

    /// <summary>Files up to this size append into an empty table; a bigger one is staged, so its duplicate keys are removed by key partition.</summary>
    private const long MaxAppendBytes = 1L << 30;

    /// <summary>
    /// Whether this batch appends straight into its fact table: the engine allows it, the table holds
    /// no row, and the file is not so big that removing its repeated keys needs the staged,
    /// partitioned steps (a compressed file is taken as ten times its size). The appender writes by
    /// position: the migrations' column order is the schema's (SchemaConformanceTests).
    /// </summary>
    private async Task<bool> AppendsIntoAsync(DbConnection connection, DetectedSource source, TableSchema schema, CancellationToken cancellationToken)
    {
        if (!engine.AppendsIntoEmptyTables)
        {
            return false;
        }

        try
        {
            if (new FileInfo(source.File.Path).Length * (source.File.IsGzip ? 10 : 1) > MaxAppendBytes)
            {
                return false;
            }
        }
        catch (IOException)
        {
            return false;
        }

        return !await HasRowsAsync(connection, null, schema, cancellationToken);
    }

    /// <summary>
    /// Streams the file's records through the record builder into the staging table by the engine's
    /// bulk path; appending, accepted rows go into the fact table and only rejects are staged. The
    /// caller names the step.
    /// </summary>
    private async Task<StagedRecords> StageRecordsAsync(DbConnection connection, DbTransaction? transaction, DetectedSource source, TableSchema schema,
        string staging, long batchId, DateTime startedAt, bool appendInto, CancellationToken cancellationToken)
    {
        var builder = new RecordBuilder(schema);
        var width = schema.Columns.Count;
        long read = 0, accepted = 0, rejected = 0;
        var firstRejects = new List<RejectedRecord>();
        await using var rows = engine.OpenRowWriter(connection, transaction!, staging, StagingColumns(schema));
        // Appending: accepted rows go to the table itself, rejects to the staging table.
        await using var table = appendInto
            ? engine.OpenRowWriter(connection, transaction!, schema.QualifiedName, schema.Columns.Select(column => (column.Name, column.Type)).ToList())
            : null;
        var keys = appendInto ? new DistinctKeys(schema) : null;
        foreach (var record in source.Format.Read(source.File, schema, cancellationToken))
        {
            read++;
            var built = builder.TryBuild(record, batchId, startedAt, out var row, out var reason);
            if (built && table is not null)
            {
                accepted++;
                keys!.Add(row);
                await table.WriteAsync(row, cancellationToken);
                continue;
            }

            var staged = new object?[width + 4];
            if (built)
            {
                Array.Copy(row, staged, width);
                accepted++;
            }
            else
            {
                staged[width + 2] = Cap(reason!, MaxReasonLength);
                staged[width + 3] = RawForReject(record.RawText);
                rejected++;
                if (firstRejects.Count < RejectsToReport)
                {
                    firstRejects.Add(new RejectedRecord(record.RecordNumber, reason!));
                }
            }

            staged[width] = record.RecordNumber;
            // One source record may yield several rows; the staging row number orders them all,
            // so a later row of the same natural key wins even within one record.
            staged[width + 1] = read;
            await rows.WriteAsync(staged, cancellationToken);
        }

        await rows.CompleteAsync(cancellationToken);
        if (table is not null)
        {
            await table.CompleteAsync(cancellationToken);
        }

        return new StagedRecords(read, accepted, rejected, firstRejects, keys?.MayRepeat ?? true);
    }

    /// <summary>Drops a staging table committed before the batch's transaction; a failure is left to the connection's end (a temp table).</summary>
    private static async Task TryDropAsync(DbConnection connection, string staging)
    {
        try
        {
            await ExecuteAsync(connection, null, $"drop table if exists {staging}", CancellationToken.None);
        }
        catch (DbException)
        {
            // The connection is gone, and its temp tables with it.
        }
    }

    /// <summary>A table's columns and the staging bookkeeping: record number, staging order, reject reason and raw text.</summary>
    private static List<(string Name, ColumnType Type)> StagingColumns(TableSchema schema) =>
        schema.Columns.Select(column => (column.Name, column.Type))
            .Append(("_record_number", ColumnType.BigInt))
            .Append(("_stage_row", ColumnType.BigInt))
            .Append(("_reject_reason", ColumnType.Text))
            .Append(("_raw_record", ColumnType.Text))
            .ToList();

    private async Task MoveRejectsAsync(DbConnection connection, DbTransaction transaction, string staging, long batchId, string filePath,
        DateTime startedAt, CancellationToken cancellationToken)
    {
        await InsertRejectsAsync(connection, transaction, staging, batchId, filePath, startedAt, cancellationToken);
        await ExecuteAsync(connection, transaction, $"delete from {staging} where _reject_reason is not null", cancellationToken);
    }

    /// <summary>A staging table's rejected rows into etl.rejected_records (the staging table is only read).</summary>
    private async Task InsertRejectsAsync(DbConnection connection, DbTransaction transaction, string staging, long batchId, string filePath,
        DateTime startedAt, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(engine.Sql(
                "insert into etl.rejected_records (batch_id, file_path, record_number, reason, raw_record, rejected_at) "
                + $"select @batchId, @filePath, _record_number, _reject_reason, _raw_record, @startedAt from {staging} "
                + "where _reject_reason is not null"),
            new { batchId, filePath, startedAt }, transaction, cancellationToken: cancellationToken));

    /// <summary>Records the batch's counts and status and commits its transaction.</summary>
    private async Task<FileLoadStatus> FinishBatchAsync(DbConnection connection, DbTransaction transaction, long batchId,
        long read, long accepted, long rejected, long inserted, long updated, CancellationToken cancellationToken)
    {
        var status = rejected > 0 ? FileLoadStatus.LoadedWithRejects : FileLoadStatus.Loaded;
        // A hash computed beside the load is done by now (it reads the file once; the load read it and did more).
        var fileHash = _pendingHash is null ? null : await _pendingHash.WaitAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(engine.Sql(
                "update etl.load_batches set rows_read = @read, rows_loaded = @accepted, rows_rejected = @rejected, "
                + "rows_inserted = @inserted, rows_updated = @updated, finished_at = @finishedAt, status = @status"
                + (fileHash is null ? "" : ", file_hash = @fileHash") + " where batch_id = @batchId"),
            WithHash(new { read, accepted, rejected, inserted, updated, finishedAt = UtcNow(), status = StatusName(status), batchId }, fileHash),
            transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return status;
    }

    /// <summary>Marks a batch failed on a fresh connection, if the database answers at all.</summary>
    private async Task TryFinishFailedAsync(long batchId, string message)
    {
        try
        {
            await using var connection = await engine.OpenAsync(CancellationToken.None);
            await FinishFailedAsync(connection, batchId, message);
        }
        catch (DbException)
        {
            // Still away: the next loader marks the batch abandoned (see AbandonRunningBatchesAsync).
        }
    }

    /// <summary>
    /// Batches left 'running' by a loader that was killed: with the loader lock held no other
    /// loader runs, so they are marked failed (their transaction never committed, so none of their
    /// rows are visible). Returns how many there were.
    /// </summary>
    public async Task<int> AbandonRunningBatchesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await engine.OpenAsync(cancellationToken);
        if (engine.StagesBeforeTransaction)
        {
            // Staging tables in etl that a killed loader of an earlier version left (DuckDB staged there until
            // 2026-11-26; now in temp tables, which end with their connection): with the lock held, no batch is running.
            var leftovers = await connection.QueryAsync<string>(new CommandDefinition(engine.Sql(
                    "select table_name from information_schema.tables where table_schema = 'etl' and table_name like @prefix"),
                new { prefix = WarehouseEngine.CommittedStagingPrefix + "%" }, cancellationToken: cancellationToken));
            foreach (var leftover in leftovers.Where(name => name.StartsWith(WarehouseEngine.CommittedStagingPrefix, StringComparison.Ordinal)))
            {
                await ExecuteAsync(connection, null, $"drop table if exists etl.\"{leftover.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", cancellationToken);
            }
        }

        return await connection.ExecuteAsync(new CommandDefinition(engine.Sql(
                "update etl.load_batches set status = 'failed', finished_at = @finishedAt, "
                + "error_message = 'abandoned: the loader stopped before this batch finished (killed or the machine went down); nothing of it was kept' "
                + "where status = 'running'"),
            new { finishedAt = UtcNow() }, cancellationToken: cancellationToken));
    }

    private async Task FinishFailedAsync(DbConnection connection, long batchId, string message)
    {
        await connection.ExecuteAsync(engine.Sql(
            "update etl.load_batches set status = 'failed', finished_at = @finishedAt, error_message = @message where batch_id = @batchId"),
            new { finishedAt = UtcNow(), message = Cap(message, 4000), batchId });

        // A failed batch records its file's hash too, unless the hash itself failed (the file could not be read) or was
        // cancelled. Apart from the status, which must be kept: file_hash is indexed, and on DuckDB changing it takes
        // memory a batch that ran out of it may not get back (seen under a 2 MB cap); the hash is a note, not the record.
        if (await HashedAsync(_pendingHash) is { } fileHash)
        {
            try
            {
                await connection.ExecuteAsync(engine.Sql("update etl.load_batches set file_hash = @fileHash where batch_id = @batchId"),
                    new { fileHash, batchId });
            }
            catch (DbException)
            {
                // Left as it was (empty): see above.
            }
        }
    }

    /// <summary>The parameters, and the file hash if there is one to write (no parameter the statement does not name).</summary>
    private static DynamicParameters WithHash(object parameters, string? fileHash)
    {
        var all = new DynamicParameters(parameters);
        if (fileHash is not null)
        {
            all.Add("fileHash", fileHash);
        }

        return all;
    }

    /// <summary>
    /// Updates the stored rows the staging table changes. Into an empty table (a first load) there is
    /// nothing to update, and the join would still cost: 2.4 s of a 20 s million-row load on DuckDB.
    /// </summary>
    private async Task<int> UpdateChangedAsync(DbConnection connection, DbTransaction transaction, string staging, TableSchema schema,
        CancellationToken cancellationToken) =>
        await HasRowsAsync(connection, transaction, schema, cancellationToken)
            ? await ExecuteAsync(connection, transaction, engine.UpdateChangedSql(staging, schema), cancellationToken)
            : 0;

    private static async Task<bool> HasRowsAsync(DbConnection connection, DbTransaction? transaction, TableSchema schema, CancellationToken cancellationToken) =>
        await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            $"select case when exists (select 1 from {schema.QualifiedName}) then 1 else 0 end",
            transaction: transaction, cancellationToken: cancellationToken)) == 1;

    private static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = 0;
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static string StatusName(FileLoadStatus status) => status switch
    {
        FileLoadStatus.Loaded => "loaded",
        FileLoadStatus.LoadedWithRejects => "loaded_with_rejects",
        FileLoadStatus.Skipped => "skipped",
        FileLoadStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    private DateTime UtcNow()
    {
        // Microsecond precision: every engine stores it exactly, so a re-read compares equal.
        var now = _clock.GetUtcNow().UtcDateTime;
        return new DateTime(now.Ticks - now.Ticks % 10, DateTimeKind.Utc);
    }

    /// <summary>
    /// SHA-256 over the files' bytes, in order. Before a load (<paramref name="readAhead"/>) the next megabyte is read on
    /// the thread pool while this thread hashes the last one, on the core that is otherwise idle then: an 851 MB file in
    /// the page cache 0.87-0.89 s → 0.76-0.79 s (hashing is most of it); from a disk slower than the hash, up to half.
    /// Beside a load, whose parsing keeps the pool busy, it reads in turn.
    /// </summary>
    private static string HashFiles(IReadOnlyList<string> paths, bool readAhead, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[][] buffers = [new byte[1 << 20], new byte[1 << 20]];
        foreach (var path in paths)
        {
            using var stream = SourceFile.OpenRaw(path);
            Task<int> Read(byte[] buffer) => readAhead ? stream.ReadAsync(buffer, cancellationToken).AsTask() : Task.FromResult(stream.Read(buffer));
            var current = 0;
            var reading = Read(buffers[current]);
            try
            {
                int read;
                while ((read = reading.GetAwaiter().GetResult()) > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    // One read at a time on the stream, into the buffer not being hashed.
                    reading = Read(buffers[1 - current]);
                    hash.AppendData(buffers[current], 0, read);
                    current = 1 - current;
                }
            }
            finally
            {
                // Never dispose the stream under a read still running (a cancel or a failure above).
                ((Task)reading).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
            }
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].TrimEnd();

    private static string Cap(string text, int maxLength) => text.Length <= maxLength ? text : text[..maxLength];

    private static string? RawForReject(Func<string>? rawText)
    {
        var raw = rawText?.Invoke();
        if (raw is null)
        {
            return null;
        }

        // PostgreSQL text cannot hold NUL; the raw record is evidence, not data, so mark it visibly.
        raw = raw.Replace('\0', '\uFFFD');
        if (Encoding.UTF8.GetByteCount(raw) <= MaxRawRecordBytes)
        {
            return raw;
        }

        var length = Math.Min(raw.Length, MaxRawRecordBytes);
        while (Encoding.UTF8.GetByteCount(raw.AsSpan(0, length)) > MaxRawRecordBytes)
        {
            length -= Math.Max(1, length / 16);
        }

        if (length > 0 && char.IsHighSurrogate(raw[length - 1]))
        {
            length--;
        }

        return raw[..length];
    }
}
