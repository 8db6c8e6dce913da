using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using Warehouse.Sources;
using Warehouse.Traces;

namespace Warehouse.Loading;

/// <summary>
/// Trace-store exports load in two steps inside the batch's one transaction: the file's parts
/// (trace records, spans, feedback) are upserted into etl.trace_parts, then every trace the
/// file touched is rolled up again from all of its stored parts, whichever file brought them,
/// and upserted into quality.trace_summaries. So spans split over files, a root that arrives
/// after its children and feedback that comes hours later all end in the same row, and a
/// re-load changes nothing.
/// </summary>
public sealed partial class Loader
{
    /// <summary>Traces rolled up per round trip: bounds memory to this many traces' parts.</summary>
    private const int RollupChunk = 2000;

    internal static readonly JsonSerializerOptions PartJson = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
    };

    private async Task<FileLoadResult> LoadTracePartsAsync(DbConnection connection, DetectedSource source, string filePath,
        long batchId, DateTime startedAt, CancellationToken cancellationToken)
    {
        var format = (TracePartFormat)source.Format;
        var rules = new TraceRules(format.SourceName, settings);
        var batch = new TraceBatch(connection, format, rules, filePath, batchId, startedAt, []);

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var partStaging = engine.StagingName($"stage_trace_parts_{batchId}");
        var (read, accepted, rejected) = await StagePartsAsync(batch, transaction, source.File, partStaging, cancellationToken);
        if (read == 0 && !format.MayHaveNoParts)
        {
            throw new LoadException($"{filePath}: the file holds no records");
        }

        await MoveRejectsAsync(connection, transaction, partStaging, batchId, filePath, startedAt, cancellationToken);
        await ExecuteAsync(connection, transaction, engine.DeduplicateSql(partStaging, TableSchema.TraceParts), cancellationToken);

        await UpdateChangedAsync(connection, transaction, partStaging, TableSchema.TraceParts, cancellationToken);
        await ExecuteAsync(connection, transaction, engine.InsertNewSql(partStaging, TableSchema.TraceParts), cancellationToken);

        var summaryStaging = engine.StagingName($"stage_trace_summaries_{batchId}");
        var (touched, rolledUp, waiting, rollupRejects) = await RollUpAsync(batch, transaction, partStaging, summaryStaging, cancellationToken);
        await MoveRejectsAsync(connection, transaction, summaryStaging, batchId, filePath, startedAt, cancellationToken);
        var summaries = TableSchema.TraceSummaries;
        var updated = await UpdateChangedAsync(connection, transaction, summaryStaging, summaries, cancellationToken);
        var inserted = await ExecuteAsync(connection, transaction, engine.InsertNewSql(summaryStaging, summaries), cancellationToken);

        rejected += rollupRejects;
        var status = await FinishBatchAsync(connection, transaction, batchId, read, accepted, rejected, inserted, updated, cancellationToken);

        var counts = new TraceRollupCounts(touched, rolledUp, waiting, rollupRejects);
        var message = rejected > 0 ? $"{rejected} record(s) rejected; see etl.rejected_records where batch_id = {batchId}" : null;
        return new FileLoadResult(filePath, status, batchId, format.Name, summaries.QualifiedName, read, accepted, rejected, inserted, updated,
            message, batch.FirstRejects, counts);
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
    private async Task<(long Read, long Accepted, long Rejected)> StagePartsAsync(TraceBatch batch, DbTransaction transaction, SourceFile file,
        string staging, CancellationToken cancellationToken)
    {
        var columns = StagingColumns(TableSchema.TraceParts);
        var width = TableSchema.TraceParts.Columns.Count;
        await ExecuteAsync(batch.Connection, transaction, engine.CreateStagingSql(staging, columns), cancellationToken);

        long read = 0, accepted = 0, rejected = 0;
        await using var rows = engine.OpenRowWriter(batch.Connection, transaction, staging, columns);
        foreach (var record in batch.Format.ReadParts(file, batch.Rules, cancellationToken))
        {
            read++;
            var staged = new object?[width + 4];
            if (record.Part is { } part && PartProblem(part) is null)
            {
                staged[0] = batch.Format.SourceName;
                staged[1] = part.TraceId;
                staged[2] = part.PartId;
                staged[3] = part.Kind.ToString().ToLowerInvariant();
                staged[4] = JsonSerializer.Serialize(part, PartJson);
                staged[5] = batch.BatchId;
                staged[6] = batch.StartedAt;
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

    /// <summary>
    /// Rolls every trace the file touched up from all of its stored parts (whichever file brought
    /// them) into a staging table of trace rows. The touched traces' parts are first copied once,
    /// numbered by trace in trace order, into a staging table written in that order; then they are
    /// read back a chunk of traces at a time by range of that number. One pass over etl.trace_parts
    /// instead of one join per chunk (which, on DuckDB, scanned the whole table every time), and
    /// memory bounded by one chunk's parts. A trace with only feedback so far waits.
    /// </summary>
    private async Task<(long Touched, long RolledUp, long Waiting, long Rejected)> RollUpAsync(TraceBatch batch, DbTransaction transaction,
        string partStaging, string staging, CancellationToken cancellationToken)
    {
        var connection = batch.Connection;
        var summaries = TableSchema.TraceSummaries;
        var columns = StagingColumns(summaries);
        var width = summaries.Columns.Count;
        await ExecuteAsync(connection, transaction, engine.CreateStagingSql(staging, columns), cancellationToken);

        var ordered = engine.StagingName($"stage_trace_rollup_{batch.BatchId}");
        await ExecuteAsync(connection, transaction, engine.CreateStagingSql(ordered,
            [("trace_seq", ColumnType.BigInt), ("trace_id", ColumnType.Text), ("part_id", ColumnType.Text), ("body", ColumnType.Text)]), cancellationToken);
        // Rejected lines sit in the part staging table with no trace id; they touch no trace.
        await batch.Connection.ExecuteAsync(new CommandDefinition(engine.Sql(
                $"insert into {ordered} (trace_seq, trace_id, part_id, body) "
                + "select dense_rank() over (order by p.trace_id) as trace_seq, p.trace_id, p.part_id, p.body "
                + "from etl.trace_parts as p "
                + $"where p.source = @source and p.trace_id in (select s.trace_id from {partStaging} as s where s.trace_id is not null) "
                + "order by trace_seq"),
            new { source = batch.Format.SourceName }, transaction, commandTimeout: 0, cancellationToken: cancellationToken));
        if (engine.IndexStagingSql(ordered, "trace_seq") is { } index)
        {
            await ExecuteAsync(connection, transaction, index, cancellationToken);
        }

        var touched = await batch.Connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            $"select max(trace_seq) from {ordered}", transaction: transaction, cancellationToken: cancellationToken)) ?? 0;

        var builder = new RecordBuilder(summaries);
        long rolledUp = 0, waiting = 0, rejected = 0, stageRow = 0;
        for (long low = 0; low < touched; low += RollupChunk)
        {
            var parts = await StoredPartsAsync(batch, transaction, ordered, low, low + RollupChunk, cancellationToken);
            await using var rows = engine.OpenRowWriter(connection, transaction, staging, columns);
            foreach (var (traceId, traceParts) in parts)
            {
                traceParts.Sort((left, right) => string.CompareOrdinal(left.PartId, right.PartId));
                var record = TraceRollup.Build(batch.Format.SourceName, traceId, traceParts, batch.Rules);
                if (record is null)
                {
                    waiting++;
                    continue;
                }

                stageRow++;
                var staged = new object?[width + 4];
                if (builder.TryBuild(record, batch.BatchId, batch.StartedAt, out var row, out var reason))
                {
                    Array.Copy(row, staged, width);
                    rolledUp++;
                }
                else
                {
                    // The trace has no line of its own: record 0, its parts as the raw record.
                    reason = $"trace {traceId}: {reason}";
                    staged[width + 2] = Cap(reason, MaxReasonLength);
                    staged[width + 3] = RawForReject(() => string.Join('\n', traceParts.Select(part => JsonSerializer.Serialize(part, PartJson))));
                    rejected++;
                    batch.NoteReject(0, reason);
                }

                staged[width] = 0L;
                staged[width + 1] = stageRow;
                await rows.WriteAsync(staged, cancellationToken);
            }

            await rows.CompleteAsync(cancellationToken);
        }

        return (touched, rolledUp, waiting, rejected);
    }

    /// <summary>The stored parts of the traces numbered (low, high] in the roll-up table, by trace id, in trace order.</summary>
    private async Task<List<(string TraceId, List<TracePart> Parts)>> StoredPartsAsync(TraceBatch batch, DbTransaction transaction, string ordered,
        long low, long high, CancellationToken cancellationToken)
    {
        var parts = new Dictionary<string, List<TracePart>>(StringComparer.Ordinal);
        var order = new List<(string TraceId, List<TracePart> Parts)>();
        var stored = await batch.Connection.QueryAsync<(long TraceSeq, string TraceId, string PartId, string Body)>(new CommandDefinition(engine.Sql(
                $"select trace_seq, trace_id, part_id, body from {ordered} where trace_seq > @low and trace_seq <= @high"),
            new { low, high }, transaction, commandTimeout: 0, cancellationToken: cancellationToken));
        foreach (var (_, traceId, partId, body) in stored.OrderBy(row => row.TraceSeq))
        {
            var part = JsonSerializer.Deserialize<TracePart>(body, PartJson)!;
            part.TraceId = traceId;
            part.PartId = partId;
            if (!parts.TryGetValue(traceId, out var list))
            {
                parts[traceId] = list = [];
                order.Add((traceId, list));
            }

            list.Add(part);
        }

        return order;
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
