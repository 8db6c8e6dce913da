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

        // The traces this file touched, read before the parts are merged (the staging table names them all).
        var touched = (await connection.QueryAsync<string>(
                new CommandDefinition($"select distinct trace_id from {partStaging}", transaction: transaction, cancellationToken: cancellationToken)))
            .ToList();
        await ExecuteAsync(connection, transaction, engine.UpdateChangedSql(partStaging, TableSchema.TraceParts), cancellationToken);
        await ExecuteAsync(connection, transaction, engine.InsertNewSql(partStaging, TableSchema.TraceParts), cancellationToken);

        var summaryStaging = engine.StagingName($"stage_trace_summaries_{batchId}");
        var (rolledUp, waiting, rollupRejects) = await RollUpAsync(batch, transaction, touched, summaryStaging, cancellationToken);
        await MoveRejectsAsync(connection, transaction, summaryStaging, batchId, filePath, startedAt, cancellationToken);
        var summaries = TableSchema.TraceSummaries;
        var updated = await ExecuteAsync(connection, transaction, engine.UpdateChangedSql(summaryStaging, summaries), cancellationToken);
        var inserted = await ExecuteAsync(connection, transaction, engine.InsertNewSql(summaryStaging, summaries), cancellationToken);

        rejected += rollupRejects;
        var status = await FinishBatchAsync(connection, transaction, batchId, read, accepted, rejected, inserted, updated, cancellationToken);

        var counts = new TraceRollupCounts(touched.Count, rolledUp, waiting, rollupRejects);
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
    /// Rolls every touched trace up from all of its stored parts into a staging table of trace
    /// rows, a chunk of traces at a time (the chunk's ids go to a staging table the parts are
    /// joined with, so keys compare the engine's way). A trace with only feedback so far waits.
    /// </summary>
    private async Task<(long RolledUp, long Waiting, long Rejected)> RollUpAsync(TraceBatch batch, DbTransaction transaction,
        IReadOnlyList<string> touched, string staging, CancellationToken cancellationToken)
    {
        var connection = batch.Connection;
        var summaries = TableSchema.TraceSummaries;
        var columns = StagingColumns(summaries);
        var width = summaries.Columns.Count;
        var chunkTable = engine.StagingName($"stage_trace_chunk_{batch.BatchId}");
        await ExecuteAsync(connection, transaction, engine.CreateStagingSql(staging, columns), cancellationToken);
        await ExecuteAsync(connection, transaction, engine.CreateStagingSql(chunkTable, [("trace_id", ColumnType.Text)]), cancellationToken);

        var builder = new RecordBuilder(summaries);
        long rolledUp = 0, waiting = 0, rejected = 0, stageRow = 0;
        foreach (var chunk in touched.Chunk(RollupChunk))
        {
            var parts = await StoredPartsAsync(batch, transaction, chunkTable, chunk, cancellationToken);
            await using var rows = engine.OpenRowWriter(connection, transaction, staging, columns);
            foreach (var traceId in chunk)
            {
                var traceParts = parts.GetValueOrDefault(traceId) ?? [];
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

        return (rolledUp, waiting, rejected);
    }

    /// <summary>All stored parts of a chunk of traces, by trace id.</summary>
    private async Task<Dictionary<string, List<TracePart>>> StoredPartsAsync(TraceBatch batch, DbTransaction transaction, string chunkTable,
        IReadOnlyList<string> chunk, CancellationToken cancellationToken)
    {
        await ExecuteAsync(batch.Connection, transaction, $"delete from {chunkTable}", cancellationToken);
        await using (var ids = engine.OpenRowWriter(batch.Connection, transaction, chunkTable, [("trace_id", ColumnType.Text)]))
        {
            foreach (var id in chunk)
            {
                await ids.WriteAsync([id], cancellationToken);
            }

            await ids.CompleteAsync(cancellationToken);
        }

        var parts = new Dictionary<string, List<TracePart>>(StringComparer.Ordinal);
        var stored = await batch.Connection.QueryAsync<(string TraceId, string PartId, string Body)>(new CommandDefinition(engine.Sql(
                "select p.trace_id, p.part_id, p.body from etl.trace_parts as p "
                + $"inner join {chunkTable} as c on c.trace_id = p.trace_id where p.source = @source"),
            new { source = batch.Format.SourceName }, transaction, cancellationToken: cancellationToken));
        foreach (var (traceId, partId, body) in stored)
        {
            var part = JsonSerializer.Deserialize<TracePart>(body, PartJson)!;
            part.TraceId = traceId;
            part.PartId = partId;
            if (!parts.TryGetValue(traceId, out var list))
            {
                parts[traceId] = list = [];
            }

            list.Add(part);
        }

        return parts;
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
