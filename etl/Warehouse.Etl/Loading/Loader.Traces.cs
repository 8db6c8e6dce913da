using System.Data.Common;
using Dapper;
using Warehouse.Sources;
using Warehouse.Traces;

namespace Warehouse.Loading;

/// <summary>
/// Trace-store exports load in two steps inside the batch's one transaction: the file's parts
/// (trace records, spans, feedback) are upserted into etl.trace_parts, then every trace the
/// file touched is rolled up again from all of its parts, whichever file brought them, and
/// upserted into quality.trace_summaries. So spans split over files, a root that arrives
/// after its children and feedback that comes hours later all end in the same row, and a
/// re-load changes nothing.
/// </summary>
public sealed partial class Loader
{
    /// <summary>Earlier stored parts read per round trip (about): bounds memory to this many parts.</summary>
    private const int RollupParts = 25_000;

    /// <summary>
    /// Parts per roll-up bucket (about; at most 1,024 buckets): <see cref="BucketsAhead"/> buckets roll up at once, each
    /// holding all of its parts and its traces' rows. Small, so a bucket's parts die young: with 8,000 (a few MB of
    /// parts, a 1-million-span file in ~200 buckets) they outlived two collections, and the roll-up of a million spans
    /// ran 75 full (background) collections and 2.7-3.2 s of pauses in 7-8 s; at 1,500 (that file in 1,024 buckets of
    /// ~1,000 parts), 36-39 collections and a roll-up of 4.5-4.8 s, 20-30 MB less RSS (measured, interleaved).
    /// </summary>
    private const int BucketParts = 1_500;

    /// <summary>Tests cut the roll-up into many small ranges with this (one trace per range at 1), in their own async flow only.</summary>
    internal static readonly AsyncLocal<int?> RollupPartsOverride = new();

    /// <summary>
    /// Tests make a trace batch fail at a named point with this, in their own async flow only: "storing" (as the parts'
    /// insert starts) or "rolling up" (as the first bucket's rows are written).
    /// </summary>
    internal static readonly AsyncLocal<string?> FailAt = new();

    private static void FailHereInTests(string point)
    {
        if (FailAt.Value == point)
        {
            throw new InvalidOperationException($"a test stopped the batch while {point}");
        }
    }

    private async Task<FileLoadResult> LoadTracePartsAsync(DbConnection connection, DetectedSource source, string filePath,
        long batchId, DateTime startedAt, CancellationToken cancellationToken)
    {
        var format = (TracePartFormat)source.Format;
        var rules = new TraceRules(format.SourceName, settings);
        var batch = new TraceBatch(connection, format, rules, filePath, batchId, startedAt, []);

        // As for fact tables (LoadBatchAsync): where the engine stages before the transaction (DuckDB), the
        // parts' staging table is committed as it fills, and so are the roll-up's: the roll-up runs before the
        // transaction too (the loader lock keeps every other writer out, so the stored parts it reads are the
        // ones the transaction would see). Measured on DuckDB: rolled up inside the transaction, the 250,000
        // staged rows of a 1-million-span file could not be evicted, and the loader's RSS climbed by 180 MB
        // during the roll-up (see BatchScope).
        var partStaging = engine.StagingName($"stage_trace_parts_{batchId}");
        var earlierStaging = engine.StagingName($"stage_trace_earlier_{batchId}");
        using var buckets = new TracePartBuckets(TracePartBuckets.CountFor(EstimatedParts(source.File), RollupPartsOverride.Value ?? BucketParts));
        // Where the engine has one (DuckDB), a second connection rolls the traces up while the first stores the parts
        // inside the batch's transaction; the roll-up's staging tables are then ones both connections see.
        await using var sibling = engine.StagesBeforeTransaction ? await engine.OpenSiblingAsync(cancellationToken) : null;
        var summaryStaging = sibling is null ? engine.StagingName($"stage_trace_summaries_{batchId}") : engine.SharedStagingName($"stage_trace_summaries_{batchId}");
        var summaryRejects = engine.SharedStagingName($"stage_trace_summary_rejects_{batchId}");
        await using var scope = await BatchScope.OpenAsync(connection, engine,
            sibling is null ? [partStaging, earlierStaging, summaryStaging] : [partStaging, earlierStaging, summaryStaging, summaryRejects], cancellationToken);
        _step = "staging the file's parts";
        var (read, accepted, rejected) = await StagePartsAsync(batch, scope.Staging, source.File, partStaging, buckets, cancellationToken);
        if (read == 0 && !format.MayHaveNoParts)
        {
            throw new LoadException($"{filePath}: the file holds no records");
        }

        if (buckets.MayHaveDuplicates && await HasDuplicatePartsAsync(connection, scope.Staging, partStaging, cancellationToken))
        {
            _step = "keeping the last of each part the file brings twice";
            await ExecuteAsync(connection, scope.Staging, engine.DeduplicateSql(partStaging, TableSchema.TraceParts), cancellationToken);
        }

        // Before this file's parts go in: the stored parts of its traces that it does not bring again, into the buckets.
        _step = "rolling up the traces the file touched";
        var earlier = await EarlierPartsAsync(batch, scope.Staging, partStaging, earlierStaging, cancellationToken);
        if (earlier is not null)
        {
            await ReadEarlierAsync(connection, scope.Staging, earlier, buckets, cancellationToken);
        }

        DbTransaction transaction;
        long touched, rolledUp, waiting, rollupRejects;
        if (sibling is null)
        {
            (touched, rolledUp, waiting, rollupRejects) = await RollUpAsync(batch, connection, scope.Staging, buckets, summaryStaging, cancellationToken);
            transaction = await scope.TransactionAsync(cancellationToken);
            _step = "storing the parts in etl.trace_parts";
            await StorePartsAsync(connection, transaction, partStaging, earlier is null, batchId, filePath, startedAt, cancellationToken);
            await MoveRejectsAsync(connection, transaction, summaryStaging, batchId, filePath, startedAt, cancellationToken);
        }
        else
        {
            transaction = await scope.TransactionAsync(cancellationToken);
            (touched, rolledUp, waiting, rollupRejects) = await RollUpWhileStoringAsync(batch, sibling, transaction, buckets, partStaging,
                earlier is null, summaryStaging, summaryRejects, cancellationToken);
            if (rollupRejects > 0)
            {
                await InsertRejectsAsync(connection, transaction, summaryRejects, batchId, filePath, startedAt, cancellationToken);
            }
        }

        var summaries = TableSchema.TraceSummaries;
        _step = "upserting the rolled-up rows into quality.trace_summaries";
        var updated = await UpdateChangedAsync(connection, transaction, summaryStaging, summaries, cancellationToken);
        var inserted = await ExecuteAsync(connection, transaction, engine.InsertNewSql(summaryStaging, summaries), cancellationToken);

        rejected += rollupRejects;
        _step = "committing the batch";
        var status = await FinishBatchAsync(connection, transaction, batchId, read, accepted, rejected, inserted, updated, cancellationToken);

        var counts = new TraceRollupCounts(touched, rolledUp, waiting, rollupRejects);
        var message = rejected > 0 ? $"{rejected} record(s) rejected; see etl.rejected_records where batch_id = {batchId}" : null;
        return new FileLoadResult(filePath, status, batchId, format.Name, summaries.QualifiedName, read, accepted, rejected, inserted, updated,
            message, batch.FirstRejects, counts);
    }

    /// <summary>
    /// The batch's parts into etl.trace_parts, inside its transaction: its rejects into etl.rejected_records, then the
    /// parts. On a first load of the source (<paramref name="allNew"/>: the store holds none of its parts, and the staging
    /// table no part twice) every part is new, and a plain insert spares the anti-join against the table.
    /// </summary>
    private async Task StorePartsAsync(DbConnection connection, DbTransaction transaction, string partStaging, bool allNew, long batchId,
        string filePath, DateTime startedAt, CancellationToken cancellationToken)
    {
        FailHereInTests("storing");
        await MoveRejectsAsync(connection, transaction, partStaging, batchId, filePath, startedAt, cancellationToken);
        if (allNew)
        {
            await ExecuteAsync(connection, transaction, engine.InsertAllSql(partStaging, TableSchema.TraceParts), cancellationToken);
        }
        else
        {
            await UpdateChangedAsync(connection, transaction, partStaging, TableSchema.TraceParts, cancellationToken);
            await ExecuteAsync(connection, transaction, engine.InsertNewSql(partStaging, TableSchema.TraceParts), cancellationToken);
        }
    }

    /// <summary>
    /// The roll-up on the sibling connection while the batch's connection stores the parts in its transaction on a
    /// thread of its own: the roll-up is mostly the thread pool's work and the parts' insert one DuckDB statement on
    /// one thread, so on two cores they overlap (measured on a 1-million-span file: see README, "Measure speed and
    /// memory"). The roll-up's rows are committed as they are appended, so they spill under the memory cap as before;
    /// the transaction reads them once both are done. Its rejects go to a table of their own
    /// (<paramref name="rejectStaging"/>): a transaction that writes the database cannot also delete from the shared one.
    /// Whichever fails first stops the other, and both have stopped before this returns or throws.
    /// </summary>
    private async Task<(long Touched, long RolledUp, long Waiting, long Rejected)> RollUpWhileStoringAsync(TraceBatch batch, DbConnection sibling,
        DbTransaction transaction, TracePartBuckets buckets, string partStaging, bool allNew, string summaryStaging, string rejectStaging,
        CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var storing = Task.Factory.StartNew(
                () => StorePartsAsync(batch.Connection, transaction, partStaging, allNew, batch.BatchId, batch.FilePath, batch.StartedAt, stop.Token),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            .Unwrap();
        _ = storing.ContinueWith(_ => StopQuietly(stop), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        (long Touched, long RolledUp, long Waiting, long Rejected) counts;
        try
        {
            counts = await RollUpAsync(batch, sibling, null, buckets, summaryStaging, stop.Token);
            if (counts.Rejected > 0)
            {
                await ExecuteAsync(sibling, null, $"create or replace table {rejectStaging} as select * from {summaryStaging} where _reject_reason is not null",
                    stop.Token);
                await ExecuteAsync(sibling, null, $"delete from {summaryStaging} where _reject_reason is not null", stop.Token);
            }
        }
        catch
        {
            // The parts' insert has stopped (or finished) before the batch's connection is used again. If it failed first
            // (its failure is what stopped the roll-up), its error is the one to report; it has faulted by now, as the stop
            // comes from its continuation. Else the roll-up's is: the insert then faults only because it is stopped here
            // (DuckDB reports an interrupted statement as an error, not as a cancel).
            var storingFailedFirst = storing.IsFaulted;
            await stop.CancelAsync();
            await ((Task)storing).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (storingFailedFirst)
            {
                _step = "storing the parts in etl.trace_parts";
                await storing;
            }

            throw;
        }

        _step = "storing the parts in etl.trace_parts";
        await storing;
        return counts;
    }

    /// <summary>Cancels unless the batch is already done with the source (it may finish before a failed insert's continuation runs).</summary>
    private static void StopQuietly(CancellationTokenSource stop)
    {
        try
        {
            stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>What one trace batch's steps share.</summary>
    private sealed record TraceBatch(DbConnection Connection, TracePartFormat Format, TraceRules Rules, string FilePath, long BatchId,
        DateTime StartedAt, List<RejectedRecord> FirstRejects)
    {
        public void NoteReject(long recordNumber, string reason)
        {
            if (FirstRejects.Count < RejectsToReport)
            {
                FirstRejects.Add(new RejectedRecord(recordNumber, reason));
            }
        }
    }

    /// <summary>Streams the file's parts into a staging table (rejects beside them, as for fact tables).</summary>
    private async Task<(long Read, long Accepted, long Rejected)> StagePartsAsync(TraceBatch batch, DbTransaction? transaction, SourceFile file,
        string staging, TracePartBuckets buckets, CancellationToken cancellationToken)
    {
        var columns = StagingColumns(TableSchema.TraceParts);
        var width = TableSchema.TraceParts.Columns.Count;
        await ExecuteAsync(batch.Connection, transaction, engine.CreateStagingSql(staging, columns), cancellationToken);

        long read = 0, accepted = 0, rejected = 0;
        // Boxed once, not once per part (a million-span load boxed 100 MB of them).
        object batchId = batch.BatchId, startedAt = batch.StartedAt;
        await using var rows = engine.OpenRowWriter(batch.Connection, transaction!, staging, columns);
        // One row array for every part: a writer copies the cells before it returns (IRowWriter).
        var staged = new object?[width + 4];
        foreach (var record in batch.Format.ReadParts(file, batch.Rules, cancellationToken))
        {
            read++;
            Array.Clear(staged);
            if (record.Part is { } part && PartProblem(part) is null)
            {
                staged[0] = batch.Format.SourceName;
                staged[1] = part.TraceId;
                staged[2] = part.PartId;
                staged[3] = KindNames[(int)part.Kind];
                // UTF-8 bytes: the appender takes them as they are. The buckets take the packed form. Both written on
                // the format's threads when it reads on the pool (OTLP), else here; both copied before the next record.
                staged[4] = record.IsPrepared ? record.Body : TracePartJson.SerializeToUtf8Bytes(part);
                buckets.AddStaged(part.TraceId, part.PartId, record.IsPrepared ? record.Packed.Span : TracePartPacked.PackToSpan(part));
                staged[5] = batchId;
                staged[6] = startedAt;
                accepted++;
            }
            else
            {
                var reason = record.Error ?? PartProblem(record.Part!)!;
                staged[width + 2] = Cap(reason, MaxReasonLength);
                staged[width + 3] = RawForReject(record.RawText);
                rejected++;
                batch.NoteReject(record.RecordNumber, reason);
            }

            staged[width] = record.RecordNumber;
            staged[width + 1] = read;
            await rows.WriteAsync(staged, cancellationToken);
        }

        await rows.CompleteAsync(cancellationToken);
        return (read, accepted, rejected);
    }

    /// <summary>etl.trace_parts.kind: each <see cref="PartKind"/> by its value, lowercased.</summary>
    private static readonly string[] KindNames = Enum.GetValues<PartKind>().Select(kind => kind.ToString().ToLowerInvariant()).ToArray();

    /// <summary>
    /// A staging table never needs deduplicating when no part comes twice in the file (a collector
    /// writes each span once): the check is one aggregate, the delete a self-join of the whole table.
    /// </summary>
    private static async Task<bool> HasDuplicatePartsAsync(DbConnection connection, DbTransaction? transaction, string partStaging,
        CancellationToken cancellationToken) =>
        await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"select count(*) from (select trace_id, part_id from {partStaging} where _reject_reason is null "
            + "group by source, trace_id, part_id having count(*) > 1) as twice",
            transaction: transaction, commandTimeout: 0, cancellationToken: cancellationToken)) > 0;

    /// <summary>
    /// The stored parts of the file's traces that the file does not bring again (same trace, other
    /// part id): what an earlier file or feedback export brought. Copied into a staging table before
    /// the file's parts are stored; null when the store holds no parts of the source yet (a first
    /// load): then every staged part is new, and the roll-up reads the file's own parts only.
    /// </summary>
    private async Task<string?> EarlierPartsAsync(TraceBatch batch, DbTransaction? transaction, string partStaging, string earlier,
        CancellationToken cancellationToken)
    {
        var connection = batch.Connection;
        var any = await connection.ExecuteScalarAsync<int>(new CommandDefinition(engine.Sql(
                "select case when exists (select 1 from etl.trace_parts where source = @source) then 1 else 0 end"),
            new { source = batch.Format.SourceName }, transaction, cancellationToken: cancellationToken));
        if (any == 0)
        {
            return null;
        }

        await ExecuteAsync(connection, transaction, engine.CreateStagingSql(earlier,
            [("trace_id", ColumnType.Text), ("part_id", ColumnType.Text), ("body", ColumnType.Text)]), cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(engine.Sql(
                $"insert into {earlier} (trace_id, part_id, body) "
                + "select p.trace_id, p.part_id, p.body from etl.trace_parts as p "
                + $"where p.source = @source and p.trace_id in (select s.trace_id from {partStaging} as s) "
                + $"and not exists (select 1 from {partStaging} as s where s.trace_id = p.trace_id and s.part_id = p.part_id)"),
            new { source = batch.Format.SourceName }, transaction, commandTimeout: 0, cancellationToken: cancellationToken));
        if (engine.IndexStagingSql(earlier, "trace_id") is { } index)
        {
            await ExecuteAsync(connection, transaction, index, cancellationToken);
        }

        return earlier;
    }

    /// <summary>
    /// A guess at a file's part count from its size (a collector's span takes 800+ bytes), for
    /// spreading its parts over buckets of about <see cref="BucketParts"/>; a guess too low only
    /// makes the buckets bigger.
    /// </summary>
    private static long EstimatedParts(SourceFile file)
    {
        try
        {
            return new FileInfo(file.Path).Length / 500;
        }
        catch (IOException)
        {
            return RollupParts;
        }
    }

    /// <summary>
    /// Rolls every trace the file touched up from all of its parts into a staging table of trace
    /// rows: the file's own parts, spread over buckets by trace id while they were staged (the last
    /// of a part that came twice wins, as in the staging table), and the earlier stored parts the
    /// file did not replace, added to the same buckets. A bucket at a time holds all parts of its
    /// traces, so memory stays bounded by one bucket. A trace with only feedback so far waits.
    /// </summary>
    private async Task<(long Touched, long RolledUp, long Waiting, long Rejected)> RollUpAsync(TraceBatch batch, DbConnection connection,
        DbTransaction? transaction, TracePartBuckets buckets, string staging, CancellationToken cancellationToken)
    {
        var summaries = TableSchema.TraceSummaries;
        var columns = StagingColumns(summaries);
        var width = summaries.Columns.Count;
        await ExecuteAsync(connection, transaction, engine.CreateStagingSql(staging, columns), cancellationToken);

        long touched = 0, rolledUp = 0, waiting = 0, rejected = 0, stageRow = 0;
        await using var rows = engine.OpenRowWriter(connection, transaction!, staging, columns);
        // Buckets roll up on the thread pool, up to BucketsAhead at once, while this thread writes the rows of the ones
        // before them in bucket order (so the staging table's rows, and a reject's record, do not depend on timing).
        var pending = new Queue<Task<List<RolledUpTrace>>>();
        var next = 0;
        var staged = new object?[width + 4];
        try
        {
            while (next < buckets.Count || pending.Count > 0)
            {
                while (next < buckets.Count && pending.Count < BucketsAhead)
                {
                    var bucket = next++;
                    pending.Enqueue(Task.Run(() => RollUpBucket(batch, buckets, bucket, summaries), cancellationToken));
                }

                // A blocking wait, not an await: DuckDB's allocator keeps memory per thread that calls it, and resumed on
                // whichever pool thread finished the bucket, the appends spread over threads and the loader's RSS rose
                // by 50-150 MB (measured on a 1-million-span load). The pool makes up for the blocked thread.
                foreach (var trace in pending.Dequeue().GetAwaiter().GetResult())
                {
                    FailHereInTests("rolling up");
                    touched++;
                    if (trace.Row is null && trace.Reason is null)
                    {
                        waiting++;
                        continue;
                    }

                    stageRow++;
                    Array.Clear(staged);
                    if (trace.Row is { } row)
                    {
                        Array.Copy(row, staged, width);
                        rolledUp++;
                    }
                    else
                    {
                        staged[width + 2] = Cap(trace.Reason!, MaxReasonLength);
                        staged[width + 3] = trace.Raw;
                        rejected++;
                        batch.NoteReject(0, trace.Reason!);
                    }

                    staged[width] = 0L;
                    staged[width + 1] = stageRow;
                    await rows.WriteAsync(staged, cancellationToken);
                }
            }
        }
        finally
        {
            // Stopped early (an error, a cancel): the buckets still rolling up finish before the buckets' files go.
            foreach (var task in pending)
            {
                await ((Task)task).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        await rows.CompleteAsync(cancellationToken);
        return (touched, rolledUp, waiting, rejected);
    }

    /// <summary>The earlier stored parts (<see cref="EarlierPartsAsync"/>) into the buckets, by ranges of trace ids, so an earlier set as big as a whole store is never one result.</summary>
    private async Task ReadEarlierAsync(DbConnection connection, DbTransaction? transaction, string earlier, TracePartBuckets buckets,
        CancellationToken cancellationToken)
    {
        var (_, bounds) = await RollupRangesAsync(connection, transaction, earlier, cancellationToken);
        for (var range = 0; range < bounds.Count; range++)
        {
            await ReadRangeAsync(connection, transaction, earlier, range == 0 ? null : bounds[range - 1], bounds[range], buckets.Add, cancellationToken);
        }
    }

    /// <summary>How many buckets roll up at once on the thread pool (the loader's thread writes the rows).</summary>
    private const int BucketsAhead = 2;

    /// <summary>One trace of a bucket: its row, or why it has none (Row and Reason null: it waits for its spans).</summary>
    private sealed record RolledUpTrace(object?[]? Row, string? Reason, string? Raw);

    /// <summary>
    /// The traces of one bucket, rolled up from all of their parts; runs on the thread pool, so it
    /// touches nothing shared but the rules (read-only but for a concurrent name cache) and its bucket.
    /// </summary>
    private static List<RolledUpTrace> RollUpBucket(TraceBatch batch, TracePartBuckets buckets, int bucket, TableSchema summaries)
    {
        var builder = new RecordBuilder(summaries);
        // Each trace's parts in part-id order (TraceRollup's tie-breaks rest on one order, whatever the files' was).
        var traces = buckets.Read(bucket);
        var results = new List<RolledUpTrace>(traces.Count);
        foreach (var (traceId, traceParts) in traces)
        {
            var record = TraceRollup.Build(batch.Format.SourceName, traceId, traceParts, batch.Rules);
            if (record is null)
            {
                results.Add(new RolledUpTrace(null, null, null));
            }
            else if (builder.TryBuild(record, batch.BatchId, batch.StartedAt, out var row, out var reason))
            {
                results.Add(new RolledUpTrace(row, null, null));
            }
            else
            {
                // The trace has no line of its own: record 0, its parts as the raw record.
                results.Add(new RolledUpTrace(null, $"trace {traceId}: {reason}",
                    RawForReject(() => string.Join('\n', traceParts.Select(TracePartJson.Serialize)))));
            }
        }

        return results;
    }

    /// <summary>
    /// A parts table's trace ids in the database's order, cut into ranges of about
    /// <see cref="RollupParts"/> parts: the last trace id of each range, and how many traces there are.
    /// </summary>
    private static async Task<(long Touched, List<string> Bounds)> RollupRangesAsync(DbConnection connection, DbTransaction? transaction,
        string table, CancellationToken cancellationToken)
    {
        var bounds = new List<string>();
        long touched = 0, inRange = 0;
        string? last = null;
        var partsPerRange = RollupPartsOverride.Value ?? RollupParts;
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandTimeout = 0;
        command.CommandText = $"select trace_id, count(*) from {table} group by trace_id order by trace_id";
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                last = reader.GetString(0);
                touched++;
                inRange += reader.GetInt64(1);
                if (inRange >= partsPerRange)
                {
                    bounds.Add(last);
                    inRange = 0;
                }
            }
        }

        if (inRange > 0)
        {
            bounds.Add(last!);
        }

        return (touched, bounds);
    }

    /// <summary>The rows (trace id, part id, body) of a parts table whose trace ids are in (low, high].</summary>
    private async Task ReadRangeAsync(DbConnection connection, DbTransaction? transaction, string table, string? low, string high,
        Action<string, string, string> add, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandTimeout = 0;
        command.CommandText = engine.Sql($"select trace_id, part_id, body from {table} where "
            + (low is null ? "" : "trace_id > @low and ") + "trace_id <= @high");
        AddText(command, "high", high);
        if (low is not null)
        {
            AddText(command, "low", low);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            add(reader.GetString(0), reader.GetString(1), reader.GetString(2));
        }
    }

    private static void AddText(DbCommand command, string name, string value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        parameter.DbType = System.Data.DbType.String;
        command.Parameters.Add(parameter);
    }

    /// <summary>What the database would refuse in a part, said before it gets there.</summary>
    private static string? PartProblem(TracePart part)
    {
        if (string.IsNullOrWhiteSpace(part.TraceId))
        {
            return "the record has no trace id";
        }

        if (part.TraceId.Length > 200)
        {
            return $"trace id is {part.TraceId.Length} characters; at most 200 are kept";
        }

        if (part.TraceId.Contains('\0') || part.PartId.Contains('\0'))
        {
            return "the trace or span id contains a NUL character";
        }

        if (string.IsNullOrWhiteSpace(part.PartId) || part.PartId.Length > 300)
        {
            return $"part id '{part.PartId}' is empty or longer than 300 characters";
        }

        return null;
    }
}

