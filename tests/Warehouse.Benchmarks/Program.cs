// Warehouse benchmark (issue 9): generates synthetic exports at a given scale (canonical CSV and
// JSON Lines, OTLP/JSON, promptfoo JSON), then per engine measures the native bulk path
// (DuckDB COPY, PostgreSQL COPY FROM STDIN) as the baseline, `warehouse load` of every input in a
// child process (wall time, records/s, peak RSS) and every view in schema quality, and prints
// markdown tables with the ratio to the baseline and the issue's targets met or missed.
//
//   dotnet run -c Release --project tests/Warehouse.Benchmarks -- --traces 1000000 --evals 200000
//
// PostgreSQL is measured when --postgres or WAREHOUSE_TEST_POSTGRES holds a connection string whose
// login may create databases; SQL Server when --sqlserver reaches a server. A quick smoke run:
//   dotnet run -c Release --project tests/Warehouse.Benchmarks -- --traces 20000 --evals 5000 --spans 20000
using System.CommandLine;
using System.Globalization;
using Warehouse.Benchmarks;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.DefaultThreadCurrentUICulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

var traces = new Option<long>("--traces") { Description = "production traces in the canonical files", DefaultValueFactory = _ => 1_000_000 };
var evals = new Option<long>("--evals") { Description = "eval records in the canonical and promptfoo files", DefaultValueFactory = _ => 200_000 };
var spans = new Option<long>("--spans") { Description = "OTLP spans (about four per trace)", DefaultValueFactory = _ => 1_000_000 };
var largeTraces = new Option<long>("--large-traces")
{
    Description = "rows of the large canonical trace CSV that part 'large' loads (peak memory at 10x scale; about 5 GB of disk per 10 million)",
    DefaultValueFactory = _ => 10_000_000,
};
var engine = new Option<string>("--engine") { Description = "duckdb, postgres, sqlserver or all", DefaultValueFactory = _ => "all" };
engine.AcceptOnlyFromAmong("duckdb", "postgres", "sqlserver", "all");
var repeat = new Option<int>("--repeat") { Description = "runs per view query; the median is reported", DefaultValueFactory = _ => 3 };
var work = new Option<string?>("--work") { Description = "folder for the generated files and DuckDB databases (default: a temp folder, deleted afterwards)" };
var keep = new Option<bool>("--keep") { Description = "keep the temp work folder" };
var only = new Option<string>("--only")
{
    Description = "comma-separated parts to run: " + string.Join(",", BenchmarkOptions.AllParts),
    DefaultValueFactory = _ => string.Join(",", BenchmarkOptions.AllParts),
};
var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL connection string (default WAREHOUSE_TEST_POSTGRES); the login must be allowed to create databases" };
var sqlServer = new Option<string?>("--sqlserver") { Description = "SQL Server connection string; the login must be allowed to create databases" };
var report = new Option<string?>("--report") { Description = "also write the markdown tables to this file" };
var seed = new Option<int>("--seed") { Description = "generator seed (the same seed writes the same files)", DefaultValueFactory = _ => 20261120 };
var warehouse = new Option<string?>("--warehouse") { Description = "the warehouse.dll to measure (default: the one built beside this benchmark)" };

var root = new RootCommand("warehouse-benchmarks: load throughput, peak memory and view times per engine, against the engine's native COPY")
{
    traces, evals, spans, largeTraces, engine, repeat, work, keep, only, postgres, sqlServer, report, seed, warehouse,
};
root.SetAction(async (parseResult, cancellationToken) =>
{
    var parts = parseResult.GetValue(only)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .ToHashSet(StringComparer.Ordinal);
    if (parts.Except(BenchmarkOptions.AllParts).FirstOrDefault() is { } unknown)
    {
        await Console.Error.WriteLineAsync($"warehouse-benchmarks: unknown part '{unknown}' in --only; use {string.Join(",", BenchmarkOptions.AllParts)}");
        return 2;
    }

    var engineName = parseResult.GetValue(engine)!;
    var options = new BenchmarkOptions
    {
        Traces = parseResult.GetValue(traces),
        Evals = parseResult.GetValue(evals),
        Spans = parseResult.GetValue(spans),
        LargeTraces = parseResult.GetValue(largeTraces),
        Engines = engineName == "all" ? new HashSet<string>(BenchmarkOptions.AllEngines, StringComparer.Ordinal) : new HashSet<string>([engineName], StringComparer.Ordinal),
        Repeat = Math.Max(1, parseResult.GetValue(repeat)),
        Work = parseResult.GetValue(work),
        Keep = parseResult.GetValue(keep),
        Only = parts,
        Postgres = parseResult.GetValue(postgres),
        SqlServer = parseResult.GetValue(sqlServer),
        Report = parseResult.GetValue(report),
        Seed = parseResult.GetValue(seed),
        Warehouse = parseResult.GetValue(warehouse),
    };
    if (options.Traces < 1 || options.Evals < 4 || options.Spans < 1 || options.LargeTraces < 1)
    {
        await Console.Error.WriteLineAsync("warehouse-benchmarks: --traces, --spans and --large-traces must be at least 1, --evals at least 4");
        return 2;
    }

    return await new BenchmarkRun(options, Console.Out, Console.Error).RunAsync(cancellationToken);
});

return await root.Parse(args).InvokeAsync();
