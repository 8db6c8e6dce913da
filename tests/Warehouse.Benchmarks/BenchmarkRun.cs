using Dapper;
using Npgsql;
using Warehouse.Benchmarks.Databases;
using Warehouse.Benchmarks.Generation;
using Warehouse.Benchmarks.Measuring;
using Warehouse.Benchmarks.Reporting;
using Warehouse.Loading;

namespace Warehouse.Benchmarks;

/// <summary>
/// One benchmark run: generate the workload, then per engine measure the native bulk baseline,
/// `warehouse load` of each input in a child process (each on a fresh database), and every view
/// on a database holding the canonical traces and evals with a comparison registered.
/// </summary>
internal sealed class BenchmarkRun(BenchmarkOptions options, TextWriter output, TextWriter log)
{
    public const string ComparisonName = "bench-v3-to-v4";

    private readonly List<LoadMeasurement> _loads = [];
    private readonly List<ViewMeasurement> _views = [];
    private readonly List<string> _notes = [];

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var warehouseDll = Path.GetFullPath(options.Warehouse ?? Path.Combine(AppContext.BaseDirectory, "warehouse.dll"));
        if (!File.Exists(warehouseDll))
        {
            await log.WriteLineAsync($"warehouse-benchmarks: {warehouseDll} not found; build the solution or pass --warehouse PATH");
            return 2;
        }

        var ownWork = options.Work is null;
        var work = Path.GetFullPath(options.Work ?? Path.Combine(Path.GetTempPath(), $"warehouse-bench-{Guid.NewGuid():N}"[..28]));
        Directory.CreateDirectory(work);
        var factories = Factories(work, out var unreachable);
        try
        {
            var workload = Workload.Generate(options, work, log, cancellationToken);
            var commands = new WarehouseCommands(warehouseDll, work);
            foreach (var factory in factories)
            {
                if (await factory.ProbeAsync(cancellationToken) is { } problem)
                {
                    unreachable.Add((factory.EngineName, problem));
                    continue;
                }

                await MeasureEngineAsync(factory, workload, commands, cancellationToken);
            }

            var report = MarkdownReport.Build(options, workload, _loads, _views, unreachable, _notes);
            await output.WriteAsync(report);
            if (options.Report is { } reportPath)
            {
                await File.WriteAllTextAsync(reportPath, report, cancellationToken);
                await log.WriteLineAsync($"report written to {Path.GetFullPath(reportPath)}");
            }

            return _loads.Any(load => load.Failed) || _views.Any(view => view.Error is not null) ? 1 : 0;
        }
        finally
        {
            if (ownWork && !options.Keep)
            {
                Directory.Delete(work, recursive: true);
            }
            else
            {
                await log.WriteLineAsync($"work folder kept: {work}");
            }
        }
    }

    private List<DatabaseFactory> Factories(string work, out List<(string Engine, string Reason)> unreachable)
    {
        unreachable = [];
        var factories = new List<DatabaseFactory>();
        if (options.Engines.Contains("duckdb"))
        {
            factories.Add(new DuckDbDatabases(work));
        }

        if (options.Engines.Contains("postgres"))
        {
            var connection = options.Postgres ?? Environment.GetEnvironmentVariable("WAREHOUSE_TEST_POSTGRES");
            if (string.IsNullOrWhiteSpace(connection))
            {
                unreachable.Add(("postgres", "no connection string (--postgres or WAREHOUSE_TEST_POSTGRES)"));
            }
            else
            {
                factories.Add(new PostgresDatabases(connection));
            }
        }

        if (options.Engines.Contains("sqlserver"))
        {
            if (string.IsNullOrWhiteSpace(options.SqlServer))
            {
                unreachable.Add(("sqlserver", "not reachable: no connection string (--sqlserver)"));
            }
            else
            {
                factories.Add(new SqlServerDatabases(options.SqlServer));
            }
        }

        return factories;
    }

    /// <summary>The input name of DuckDB's COPY under the loader's caps (a reference row, see <see cref="NativeCopy.DuckDbLoaderCaps"/>).</summary>
    public const string CappedCopyInput = "native COPY CSV, loader's caps";

    private async Task MeasureEngineAsync(DatabaseFactory factory, Workload workload, WarehouseCommands commands, CancellationToken cancellationToken)
    {
        var engine = factory.EngineName;

        if (options.Runs("csv"))
        {
            await using var baseline = await FreshAsync(factory, "copy", cancellationToken);
            foreach (var (schema, file) in new[] { (TableSchema.TraceSummaries, workload.TracesCsv!), (TableSchema.EvalRecords, workload.EvalsCsv!) })
            {
                foreach (var keyed in new[] { false, true })
                {
                    Progress(engine, $"native COPY {file.Description}{(keyed ? " (keyed)" : "")}");
                    var seconds = await NativeCopy.CopyAsync(baseline, schema, file.Path, keyed, cancellationToken);
                    _loads.Add(new LoadMeasurement(engine, keyed ? "native COPY CSV, keyed table" : "native COPY CSV", schema.QualifiedName,
                        file.Records, seconds, IsBaseline: !keyed,
                        Note: keyed ? (engine == "postgres" ? "scratch table with the fact table's unique key and indexes" : "scratch table with the unique key") : null));
                }

                if (engine == "duckdb")
                {
                    Progress(engine, $"native COPY {file.Description} (loader's caps)");
                    var seconds = await NativeCopy.CopyAsync(baseline, schema, file.Path, keyed: false, cancellationToken, "_capped", NativeCopy.DuckDbLoaderCaps);
                    _loads.Add(new LoadMeasurement(engine, CappedCopyInput, schema.QualifiedName, file.Records, seconds,
                        Note: $"bare table, DuckDB as the loader runs it: {string.Join(", ", NativeCopy.DuckDbLoaderCaps)}"));
                }
            }
        }

        if (options.Runs("csv") || options.Runs("views"))
        {
            await using var database = await FreshAsync(factory, "csv", cancellationToken);
            await LoadAsync(commands, database, "canonical CSV", workload.TracesCsv!, TableSchema.TraceSummaries, cancellationToken);
            if (options.Runs("csv"))
            {
                await LoadAsync(commands, database, "canonical CSV again (identical file)", workload.TracesCsv!, TableSchema.TraceSummaries, cancellationToken);
                await LoadAsync(commands, database, "canonical CSV again, --force (no row changes)", workload.TracesCsv!, TableSchema.TraceSummaries, cancellationToken,
                    force: true);
                await LoadAsync(commands, database, "canonical CSV, later export (upsert)", workload.TracesCsvModified!, TableSchema.TraceSummaries, cancellationToken);
            }

            await LoadAsync(commands, database, "canonical CSV", workload.EvalsCsv!, TableSchema.EvalRecords, cancellationToken);
            if (options.Runs("views"))
            {
                await MeasureViewsAsync(commands, database, cancellationToken);
            }
        }

        if (options.Runs("jsonl"))
        {
            await using var database = await FreshAsync(factory, "jsonl", cancellationToken);
            await LoadAsync(commands, database, "canonical JSONL", workload.TracesJsonl!, TableSchema.TraceSummaries, cancellationToken);
        }

        if (options.Runs("otlp"))
        {
            await using var database = await FreshAsync(factory, "otlp", cancellationToken);
            await LoadAsync(commands, database, $"OTLP/JSON spans ({workload.OtlpTraces:N0} traces)", workload.Otlp!, TableSchema.TraceSummaries, cancellationToken);
        }

        if (options.Runs("promptfoo"))
        {
            await using var database = await FreshAsync(factory, "promptfoo", cancellationToken);
            await LoadAsync(commands, database, "promptfoo JSON", workload.Promptfoo!, TableSchema.EvalRecords, cancellationToken);
        }

        if (options.Runs("large"))
        {
            // Last, so its gigabytes of database never sit beside the other measurements.
            await using var database = await FreshAsync(factory, "large", cancellationToken);
            await LoadAsync(commands, database, $"canonical CSV, {workload.TracesCsvLarge!.Records:N0} rows", workload.TracesCsvLarge, TableSchema.TraceSummaries,
                cancellationToken);
        }
    }

    private async Task LoadAsync(WarehouseCommands commands, BenchmarkDatabase database, string input, WorkloadFile file, TableSchema schema,
        CancellationToken cancellationToken, bool force = false)
    {
        Progress(database.EngineName, $"warehouse load {Path.GetFileName(file.Path)} ({input})");
        var measured = await commands.LoadAsync(database, input, schema.QualifiedName, file.Path, file.Records, force, cancellationToken);
        _loads.Add(measured);
        await log.WriteLineAsync($"    {measured.Seconds:N1} s, {measured.RecordsPerSecond:N0} records/s, peak RSS {(measured.PeakRssBytes ?? 0) / 1048576.0:N0} MiB{(measured.Note is null ? "" : ", " + measured.Note)}");
    }

    private async Task MeasureViewsAsync(WarehouseCommands commands, BenchmarkDatabase database, CancellationToken cancellationToken)
    {
        await commands.RunCheckedAsync(database,
            ["compare", "add", "--name", ComparisonName, "--key", "prompt_version", "--baseline", SyntheticEvals.Baseline, "--candidate", SyntheticEvals.Candidate],
            cancellationToken);
        await commands.RunCheckedAsync(database,
            ["lock", "add", "--name", "bench-lock-refund-policy", "--dataset", "refund-golden", "--case", FirstCaseOf(database, "refund-golden"), "--metric", "correctness"],
            cancellationToken);
        if (database.EngineName == "postgres")
        {
            // Autovacuum analyzes a freshly loaded table within a minute or so; run it now so the
            // measured plans are the ones users get, not ones planned without statistics.
            await using var connection = (NpgsqlConnection)await database.OpenAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition("analyze quality.trace_summaries; analyze quality.eval_records", cancellationToken: cancellationToken,
                commandTimeout: 0));
            AddNote("PostgreSQL: `analyze` ran on both fact tables after loading and before the views were timed (autovacuum would do the same shortly after a load).");
        }

        foreach (var view in await ViewTimer.ViewsAsync(database, cancellationToken))
        {
            Progress(database.EngineName, $"view quality.{view} × {options.Repeat}");
            var measured = await ViewTimer.TimeAsync(database, view, options.Repeat, cancellationToken);
            _views.Add(measured);
            await log.WriteLineAsync($"    {measured.Rows:N0} rows, median {measured.MedianSeconds:N3} s{(measured.Error is null ? "" : ", " + measured.Error)}");
        }
    }

    private static string FirstCaseOf(BenchmarkDatabase database, string dataset)
    {
        using var connection = database.Engine.CreateConnection();
        connection.Open();
        return connection.ExecuteScalar<string>(database.Engine.Sql("select min(case_id) from quality.eval_records where dataset_id = @dataset"), new { dataset })
            ?? "case-0000000";
    }

    private async Task<BenchmarkDatabase> FreshAsync(DatabaseFactory factory, string label, CancellationToken cancellationToken)
    {
        var database = await factory.CreateAsync(label, cancellationToken);
        database.Migrate();
        return database;
    }

    private void Progress(string engine, string what) => log.WriteLine($"[{DateTime.Now:HH:mm:ss}] {engine}: {what}");

    private void AddNote(string note)
    {
        if (!_notes.Contains(note))
        {
            _notes.Add(note);
        }
    }
}
