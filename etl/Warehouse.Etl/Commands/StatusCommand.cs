using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Warehouse.Engines;

namespace Warehouse.Commands;

/// <summary>
/// The operator's view of the loader: the recent batches, counts per status, the latest rejected
/// records, and the files waiting in a quarantine folder with the first line of their reason
/// file. Exit 0 when nothing needs attention; exit 1 when the latest batch of a listed file
/// failed or a file waits in quarantine, so the command doubles as a health check. Error text
/// and connection strings are printed with their secrets masked.
/// </summary>
public sealed class StatusCommand(Cli cli)
{
    private const int DefaultBatches = 20;
    private const int MaxErrorWidth = 120;

    private static readonly JsonWriterOptions JsonOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public Command Build()
    {
        var batches = new Option<int>("--batches")
        {
            Description = "how many recent batches (and rejected records) to list",
            DefaultValueFactory = _ => DefaultBatches,
        };
        batches.Validators.Add(result =>
        {
            if (result.GetValue(batches) < 1)
            {
                result.AddError("--batches must be at least 1");
            }
        });
        var quarantine = new Option<string?>("--quarantine") { Description = "a quarantine folder (as given to watch) whose waiting files to list" };
        var json = new Option<bool>("--json") { Description = "print one JSON document instead of text" };
        var command = new Command("status", "recent batches, rejects and quarantined files; exit 1 when something needs attention")
        {
            batches, quarantine, json,
        };
        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var engine = cli.OpenWarehouse(parseResult, out _);
            var report = await ReadAsync(engine, parseResult.GetValue(batches), parseResult.GetValue(quarantine), cancellationToken);
            if (parseResult.GetValue(json))
            {
                await WriteJsonAsync(report, cli.Output);
            }
            else
            {
                await WriteTextAsync(report, cli.Output);
            }

            return report.Problems.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
    }

    internal sealed record Batch(long BatchId, string File, string? Format, string? Table, string Status, long RowsRead, long RowsLoaded,
        long RowsRejected, long RowsInserted, long RowsUpdated, DateTime StartedAt, DateTime? FinishedAt, string? Error);

    internal sealed record StatusCount(string Status, long Batches, long RowsRead, long RowsLoaded, long RowsRejected);

    internal sealed record Reject(long BatchId, string File, string? Format, long RecordNumber, string Reason, DateTime RejectedAt);

    internal sealed record QuarantinedFile(string File, long SizeBytes, DateTime ModifiedAt, string? Reason);

    internal sealed record Quarantine(string Folder, bool Exists, IReadOnlyList<QuarantinedFile> Files);

    internal sealed record StatusReport(string Engine, string Connection, DateTime Now, IReadOnlyList<StatusCount> Counts,
        IReadOnlyList<Batch> Batches, IReadOnlyList<Reject> Rejects, Quarantine? Quarantine, IReadOnlyList<string> Problems);

    private static async Task<StatusReport> ReadAsync(WarehouseEngine engine, int limit, string? quarantineFolder, CancellationToken cancellationToken)
    {
        string Scrub(string? text) => text is null ? "" : ConnectionStrings.Scrub(text, engine.ConnectionString);

        await using var connection = await engine.OpenAsync(cancellationToken);
        var counts = await QueryAsync(connection, engine,
            "select status, cast(count(*) as bigint) as n_batches, cast(sum(rows_read) as bigint) as n_read, "
            + "cast(sum(rows_loaded) as bigint) as n_loaded, cast(sum(rows_rejected) as bigint) as n_rejected "
            + "from etl.load_batches group by status order by status",
            row => new StatusCount(row.GetString(0), Int64(row, 1), Int64(row, 2), Int64(row, 3), Int64(row, 4)), cancellationToken);
        var batches = await QueryAsync(connection, engine,
            Top(engine, limit, "batch_id, file_path, source_format, target_table, status, rows_read, rows_loaded, rows_rejected, "
                + "rows_inserted, rows_updated, started_at, finished_at, error_message from etl.load_batches order by batch_id desc"),
            row => new Batch(Int64(row, 0), row.GetString(1), Text(row, 2), Text(row, 3), row.GetString(4), Int64(row, 5), Int64(row, 6),
                Int64(row, 7), Int64(row, 8), Int64(row, 9), Timestamp(row, 10)!.Value, Timestamp(row, 11),
                row.IsDBNull(12) ? null : Scrub(row.GetString(12))),
            cancellationToken);
        var rejects = await QueryAsync(connection, engine,
            Top(engine, limit, "rejected.batch_id, rejected.file_path, batches.source_format, rejected.record_number, rejected.reason, "
                + "rejected.rejected_at from etl.rejected_records as rejected "
                + "left join etl.load_batches as batches on batches.batch_id = rejected.batch_id "
                + "order by rejected.rejected_record_id desc"),
            row => new Reject(Int64(row, 0), row.GetString(1), Text(row, 2), Int64(row, 3), Scrub(row.GetString(4)), Timestamp(row, 5)!.Value),
            cancellationToken);
        var quarantine = quarantineFolder is null ? null : ReadQuarantine(quarantineFolder, Scrub);

        // Health: a file whose most recent batch failed (among those listed, so the exit code always
        // matches a line on screen), and any file still waiting in quarantine.
        var problems = batches
            .GroupBy(batch => batch.File, StringComparer.Ordinal)
            .Select(group => group.MaxBy(batch => batch.BatchId)!)
            .Where(batch => batch.Status == "failed")
            .OrderBy(batch => batch.BatchId)
            .Select(batch => $"the last load of {batch.File} failed (batch {batch.BatchId})")
            .ToList();
        if (quarantine is { Files.Count: > 0 and var waiting })
        {
            problems.Add($"{waiting} file{(waiting == 1 ? "" : "s")} wait{(waiting == 1 ? "s" : "")} in quarantine ({quarantine.Folder})");
        }

        return new StatusReport(engine.Name, engine.DisplayConnection, DateTime.UtcNow, counts, batches, rejects, quarantine, problems);
    }

    /// <summary>The first rows of an ordered select: `top (n)` in T-SQL, `limit n` elsewhere (n is a validated integer).</summary>
    private static string Top(WarehouseEngine engine, int limit, string selectBody) => engine.Kind == EngineKind.SqlServer
        ? $"select top ({limit.ToString(CultureInfo.InvariantCulture)}) {selectBody}"
        : $"select {selectBody} limit {limit.ToString(CultureInfo.InvariantCulture)}";

    private static async Task<List<T>> QueryAsync<T>(DbConnection connection, WarehouseEngine engine, string sql, Func<DbDataReader, T> map,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = engine.Sql(sql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    private static long Int64(DbDataReader row, int ordinal) =>
        row.IsDBNull(ordinal) ? 0 : Convert.ToInt64(row.GetValue(ordinal), CultureInfo.InvariantCulture);

    private static string? Text(DbDataReader row, int ordinal) => row.IsDBNull(ordinal) ? null : row.GetString(ordinal);

    /// <summary>Stored timestamps are UTC (DuckDB and SQL Server keep no zone).</summary>
    private static DateTime? Timestamp(DbDataReader row, int ordinal) => row.IsDBNull(ordinal)
        ? null
        : row.GetValue(ordinal) switch
        {
            DateTimeOffset offset => offset.UtcDateTime,
            DateTime { Kind: DateTimeKind.Local } local => local.ToUniversalTime(),
            DateTime value => DateTime.SpecifyKind(value, DateTimeKind.Utc),
            var other => DateTime.SpecifyKind(Convert.ToDateTime(other, CultureInfo.InvariantCulture), DateTimeKind.Utc),
        };

    /// <summary>
    /// Every file in the folder (and below) that is not a reason file, oldest first, with the first
    /// non-empty line of its `&lt;file&gt;.error.txt` (as watch writes it) when there is one.
    /// </summary>
    internal static Quarantine ReadQuarantine(string folder, Func<string?, string> scrub)
    {
        var fullFolder = Path.GetFullPath(folder);
        if (!Directory.Exists(fullFolder))
        {
            return new Quarantine(fullFolder, false, []);
        }

        var files = Directory.EnumerateFiles(fullFolder, "*", SearchOption.AllDirectories)
            .Where(file => !file.EndsWith(".error.txt", StringComparison.OrdinalIgnoreCase) && !Path.GetFileName(file).StartsWith('.'))
            .Select(file => new FileInfo(file))
            .OrderBy(file => file.LastWriteTimeUtc)
            .ThenBy(file => file.FullName, StringComparer.Ordinal)
            .Select(file => new QuarantinedFile(file.FullName, file.Length, file.LastWriteTimeUtc, ReasonFor(file.FullName, scrub)))
            .ToList();
        return new Quarantine(fullFolder, true, files);
    }

    private static string? ReasonFor(string file, Func<string?, string> scrub)
    {
        var reasonFile = file + ".error.txt";
        try
        {
            if (!File.Exists(reasonFile))
            {
                return null;
            }

            using var reader = new StreamReader(reasonFile);
            while (reader.ReadLine() is { } line)
            {
                if (!string.IsNullOrWhiteSpace(line))
                {
                    return scrub(line.Trim());
                }
            }

            return null;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return $"(the reason file cannot be read: {error.Message})";
        }
    }

    private static async Task WriteTextAsync(StatusReport report, TextWriter output)
    {
        await output.WriteLineAsync($"{report.Engine} {report.Connection}");
        await output.WriteLineAsync();
        if (report.Counts.Count == 0)
        {
            await output.WriteLineAsync("No batches yet: nothing has been loaded into this warehouse.");
        }
        else
        {
            await output.WriteLineAsync($"Batches by status ({report.Counts.Sum(count => count.Batches)} in all)");
            await WriteTableAsync(output, ["status", "batches", "read", "loaded", "rejected"], [false, true, true, true, true],
                report.Counts.Select(count => new[]
                {
                    count.Status, Number(count.Batches), Number(count.RowsRead), Number(count.RowsLoaded), Number(count.RowsRejected),
                }));
            await output.WriteLineAsync();
            await output.WriteLineAsync($"Latest {report.Batches.Count} batch{(report.Batches.Count == 1 ? "" : "es")}, newest first");
            await WriteTableAsync(output,
                ["batch", "status", "file", "format", "read", "loaded", "rejected", "inserted", "updated", "started", "duration", "error"],
                [true, false, false, false, true, true, true, true, true, false, true, false],
                report.Batches.Select(batch => new[]
                {
                    Number(batch.BatchId), batch.Status, batch.File, batch.Format ?? "-", Number(batch.RowsRead), Number(batch.RowsLoaded),
                    Number(batch.RowsRejected), Number(batch.RowsInserted), Number(batch.RowsUpdated), Time(batch.StartedAt),
                    Duration((batch.FinishedAt ?? report.Now) - batch.StartedAt) + (batch.FinishedAt is null ? " so far" : ""),
                    FirstLine(WithoutFile(batch.Error, batch.File)),
                }));
        }

        if (report.Rejects.Count > 0)
        {
            await output.WriteLineAsync();
            await output.WriteLineAsync($"Latest {report.Rejects.Count} rejected record{(report.Rejects.Count == 1 ? "" : "s")}, newest first (all in etl.rejected_records)");
            await WriteTableAsync(output, ["batch", "file", "where", "reason"], [true, false, false, false],
                report.Rejects.Select(reject => new[]
                {
                    Number(reject.BatchId), reject.File,
                    reject.RecordNumber > 0 ? $"{LoadReporter.RecordWord(reject.Format)} {reject.RecordNumber}" : "-",
                    FirstLine(reject.Reason),
                }));
        }

        if (report.Quarantine is { } quarantine)
        {
            await output.WriteLineAsync();
            if (!quarantine.Exists)
            {
                await output.WriteLineAsync($"Quarantine {quarantine.Folder}: the folder does not exist (no file has been quarantined there)");
            }
            else if (quarantine.Files.Count == 0)
            {
                await output.WriteLineAsync($"Quarantine {quarantine.Folder}: empty");
            }
            else
            {
                await output.WriteLineAsync($"Quarantine {quarantine.Folder}: {quarantine.Files.Count} file{(quarantine.Files.Count == 1 ? "" : "s")} waiting, oldest first");
                await WriteTableAsync(output, ["file", "size", "since", "reason"], [false, true, false, false],
                    quarantine.Files.Select(file => new[]
                    {
                        Path.GetRelativePath(quarantine.Folder, file.File), Number(file.SizeBytes), Time(file.ModifiedAt),
                        FirstLine(file.Reason ?? "(no .error.txt beside it)"),
                    }));
            }
        }

        await output.WriteLineAsync();
        await output.WriteLineAsync(report.Problems.Count == 0
            ? "status: ok"
            : "status: needs attention: " + string.Join("; ", report.Problems));
    }

    private static async Task WriteJsonAsync(StatusReport report, TextWriter output)
    {
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("engine", report.Engine);
            json.WriteString("connection", report.Connection);
            json.WriteBoolean("healthy", report.Problems.Count == 0);
            json.WriteStartArray("problems");
            foreach (var problem in report.Problems)
            {
                json.WriteStringValue(problem);
            }

            json.WriteEndArray();
            json.WriteStartArray("counts");
            foreach (var count in report.Counts)
            {
                json.WriteStartObject();
                json.WriteString("status", count.Status);
                json.WriteNumber("batches", count.Batches);
                json.WriteNumber("rows_read", count.RowsRead);
                json.WriteNumber("rows_loaded", count.RowsLoaded);
                json.WriteNumber("rows_rejected", count.RowsRejected);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("batches");
            foreach (var batch in report.Batches)
            {
                json.WriteStartObject();
                json.WriteNumber("batch_id", batch.BatchId);
                json.WriteString("file", batch.File);
                json.WriteString("format", batch.Format);
                json.WriteString("table", batch.Table);
                json.WriteString("status", batch.Status);
                json.WriteNumber("rows_read", batch.RowsRead);
                json.WriteNumber("rows_loaded", batch.RowsLoaded);
                json.WriteNumber("rows_rejected", batch.RowsRejected);
                json.WriteNumber("rows_inserted", batch.RowsInserted);
                json.WriteNumber("rows_updated", batch.RowsUpdated);
                json.WriteString("started_at", Iso(batch.StartedAt));
                json.WriteString("finished_at", batch.FinishedAt is { } finished ? Iso(finished) : null);
                if (batch.FinishedAt is { } end)
                {
                    json.WriteNumber("duration_ms", (long)(end - batch.StartedAt).TotalMilliseconds);
                }
                else
                {
                    json.WriteNull("duration_ms");
                }

                json.WriteString("error", batch.Error);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("rejects");
            foreach (var reject in report.Rejects)
            {
                json.WriteStartObject();
                json.WriteNumber("batch_id", reject.BatchId);
                json.WriteString("file", reject.File);
                json.WriteNumber("record", reject.RecordNumber);
                json.WriteString("reason", reject.Reason);
                json.WriteString("rejected_at", Iso(reject.RejectedAt));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (report.Quarantine is { } quarantine)
            {
                json.WriteStartObject("quarantine");
                json.WriteString("folder", quarantine.Folder);
                json.WriteBoolean("exists", quarantine.Exists);
                json.WriteStartArray("files");
                foreach (var file in quarantine.Files)
                {
                    json.WriteStartObject();
                    json.WriteString("file", file.File);
                    json.WriteNumber("size_bytes", file.SizeBytes);
                    json.WriteString("modified_at", Iso(file.ModifiedAt));
                    json.WriteString("reason", file.Reason);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }
            else
            {
                json.WriteNull("quarantine");
            }

            json.WriteEndObject();
        }

        await output.WriteLineAsync(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    private static async Task WriteTableAsync(TextWriter output, string[] headers, bool[] numeric, IEnumerable<string[]> rows)
    {
        var cells = rows.ToList();
        var widths = headers.Select((header, index) => Math.Max(header.Length, cells.Count == 0 ? 0 : cells.Max(row => row[index].Length))).ToArray();
        var line = new StringBuilder();
        async Task WriteLineAsync(string[] row, bool header)
        {
            line.Clear();
            for (var index = 0; index < row.Length; index++)
            {
                if (index > 0)
                {
                    line.Append("  ");
                }

                line.Append(numeric[index] && !header ? row[index].PadLeft(widths[index]) : row[index].PadRight(widths[index]));
            }

            await output.WriteLineAsync(line.ToString().TrimEnd());
        }

        await WriteLineAsync(headers, header: true);
        foreach (var row in cells)
        {
            await WriteLineAsync(row, header: false);
        }
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Time(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Iso(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture);

    private static string Duration(TimeSpan span) => span switch
    {
        { TotalSeconds: < 60 } => Math.Max(0, span.TotalSeconds).ToString("0.0", CultureInfo.InvariantCulture) + "s",
        { TotalHours: < 1 } => $"{(int)span.TotalMinutes}m {span.Seconds:00}s",
        _ => $"{(int)span.TotalHours}h {span.Minutes:00}m",
    };

    /// <summary>Loader messages start with the file's path, which the table shows beside them already.</summary>
    private static string? WithoutFile(string? error, string file) =>
        error is not null && error.StartsWith(file + ": ", StringComparison.Ordinal) ? error[(file.Length + 2)..] : error;

    /// <summary>A message on one line of a table: its first line, shortened.</summary>
    private static string FirstLine(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var first = text.Split('\n')[0].TrimEnd('\r');
        return first.Length <= MaxErrorWidth ? first : first[..(MaxErrorWidth - 3)] + "...";
    }
}
