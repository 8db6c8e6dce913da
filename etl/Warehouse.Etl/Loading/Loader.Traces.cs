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
        var partsSchema = TableSchema.TraceParts;
        var summaries = TableSchema.TraceSummaries;
        var partColumns = StagingColumns(partsSchema);
        var partStaging = engine.StagingName($"stage_trace_parts_{batchId}");

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, engine.CreateStagingSql(partStaging, partColumns), cancellationToken);

        long read = 0, accepted = 0, rejected = 0;
        var firstRejects = new List<RejectedRecord>();
        var width = partsSchema.Columns.Count;
        await using (var rows = engine.OpenRowWriter(connection, transaction, partStaging, partColumns))
        {
            foreach (var record in format.ReadParts(source.File, rules, cancellationToken))
            {
                read++;
                var staged = new object?[width + 4];
                if (record.Part is { } part && PartProblem(part) is null)
                {
                    staged[0] = format.SourceName;
                    staged[1] = part.TraceId;
                    staged[2] = part.PartId;
                    staged[3] = part.Kind.ToString().ToLowerInvariant();
                    staged[4] = JsonSerializer.Serialize(part, PartJson);
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
                    if (firstRejects.Count < RejectsToReport)
                    {
                        firstRejects.Add(new RejectedRecord(record.RecordNumber, reason));
                    }
                }

                staged[width] = record.RecordNumber;
                staged[width + 1] = read;
                await rows.WriteAsync(staged, cancellationToken);
            }

            await rows.CompleteAsync(cancellationToken);
        }

        if (read == 0 && !format.MayHaveNoParts)
        {
            throw new LoadException($"{filePath}: the file holds no records");
        }

        await MoveRejectsAsync(connection, transaction, partStaging, batchId, filePath, startedAt, cancellationToken);
        await ExecuteAsync(connection, transaction, engine.DeduplicateSql(partStaging, partsSchema), cancellationToken);

        // The traces this file touched, read before the parts are merged (the staging table names them all).
        var touched = (await connection.QueryAsync<string>(
                new CommandDefinition($"select distinct trace_id from {partStaging}", transaction: transaction, cancellationToken: cancellationToken)))
            .ToList();
        await ExecuteAsync(connection, transaction, engine.UpdateChangedSql(partStaging, partsSchema), cancellationToken);
        await ExecuteAsync(connection, transaction, engine.InsertNewSql(partStaging, partsSchema), cancellationToken);

        // Roll up every touched trace from all of its parts, a chunk of traces at a time.
        var summaryColumns = StagingColumns(summaries);
        var summaryStaging = engine.StagingName($"stage_trace_summaries_{batchId}");
        var chunkTable = engine.StagingName($"stage_trace_chunk_{batchId}");
        await ExecuteAsync(connection, transaction, engine.CreateStagingSql(summaryStaging, summaryColumns), cancellationToken);
        await ExecuteAsync(connection, transaction, engine.CreateStagingSql(chunkTable, [("trace_id", ColumnType.Text)]), cancellationToken);
        var builder = new RecordBuilder(summaries);
        long rolledUp = 0, waiting = 0, rollupRejects = 0, stageRow = 0;
        var summaryWidth = summaries.Columns.Count;
        foreach (var chunk in touched.Chunk(RollupChunk))
        {
            await ExecuteAsync(connection, transaction, $"delete from {chunkTable}", cancellationToken);
            await using (var ids = engine.OpenRowWriter(connection, transaction, chunkTable, [("trace_id", ColumnType.Text)]))
            {
                foreach (var id in chunk)
                {
                    await ids.WriteAsync([id], cancellationToken);
                }

                await ids.CompleteAsync(cancellationToken);
            }

            var parts = new Dictionary<string, List<TracePart>>(StringComparer.Ordinal);
            var stored = await connection.QueryAsync<(string TraceId, string PartId, string Body)>(new CommandDefinition(engine.Sql(
                    "select p.trace_id, p.part_id, p.body from etl.trace_parts as p "
                    + $"inner join {chunkTable} as c on c.trace_id = p.trace_id where p.source = @source"),
                new { source = format.SourceName }, transaction, cancellationToken: cancellationToken));
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

            await using var rows = engine.OpenRowWriter(connection, transaction, summaryStaging, summaryColumns);
            foreach (var traceId in chunk)
            {
                var traceParts = parts.GetValueOrDefault(traceId) ?? [];
                traceParts.Sort((left, right) => string.CompareOrdinal(left.PartId, right.PartId));
                var record = TraceRollup.Build(format.SourceName, traceId, traceParts, rules);
                if (record is null)
                {
                    waiting++;
                    continue;
                }

                stageRow++;
                var staged = new object?[summaryWidth + 4];
                if (builder.TryBuild(record, batchId, startedAt, out var row, out var reason))
                {
                    Array.Copy(row, staged, summaryWidth);
                    rolledUp++;
                }
                else
                {
                    reason = $"trace {traceId}: {reason}";
                    staged[summaryWidth + 2] = Cap(reason, MaxReasonLength);
                    staged[summaryWidth + 3] = RawForReject(() => string.Join('\n', traceParts.Select(part => JsonSerializer.Serialize(part, PartJson))));
                    rollupRejects++;
                    if (firstRejects.Count < RejectsToReport)
                    {
                        firstRejects.Add(new RejectedRecord(0, reason));
                    }
                }

                staged[summaryWidth] = 0L;
                staged[summaryWidth + 1] = stageRow;
                await rows.WriteAsync(staged, cancellationToken);
            }

            await rows.CompleteAsync(cancellationToken);
        }

        await MoveRejectsAsync(connection, transaction, summaryStaging, batchId, filePath, startedAt, cancellationToken);
        var updated = await ExecuteAsync(connection, transaction, engine.UpdateChangedSql(summaryStaging, summaries), cancellationToken);
        var inserted = await ExecuteAsync(connection, transaction, engine.InsertNewSql(summaryStaging, summaries), cancellationToken);

        rejected += rollupRejects;
        var status = rejected > 0 ? FileLoadStatus.LoadedWithRejects : FileLoadStatus.Loaded;
        await connection.ExecuteAsync(engine.Sql(
            "update etl.load_batches set rows_read = @read, rows_loaded = @accepted, rows_rejected = @rejected, "
            + "rows_inserted = @inserted, rows_updated = @updated, finished_at = @finishedAt, status = @status "
            + "where batch_id = @batchId"),
            new { read, accepted, rejected, inserted = (long)inserted, updated = (long)updated, finishedAt = UtcNow(), status = StatusName(status), batchId },
            transaction);
        await transaction.CommitAsync(cancellationToken);

        var counts = new TraceRollupCounts(touched.Count, rolledUp, waiting, rollupRejects);
        var message = rejected > 0 ? $"{rejected} record(s) rejected; see etl.rejected_records where batch_id = {batchId}" : null;
        return new FileLoadResult(filePath, status, batchId, format.Name, summaries.QualifiedName, read, accepted, rejected, inserted, updated,
            message, firstRejects, counts);
    }

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
        await connection.ExecuteAsync(new CommandDefinition(engine.Sql(
                "insert into etl.rejected_records (batch_id, file_path, record_number, reason, raw_record, rejected_at) "
                + $"select @batchId, @filePath, _record_number, _reject_reason, _raw_record, @startedAt from {staging} "
                + "where _reject_reason is not null"),
            new { batchId, filePath, startedAt }, transaction, cancellationToken: cancellationToken));
        await ExecuteAsync(connection, transaction, $"delete from {staging} where _reject_reason is not null", cancellationToken);
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
