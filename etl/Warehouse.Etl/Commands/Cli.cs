using System.CommandLine;
using System.Data.Common;
using Microsoft.Extensions.Configuration;
using Warehouse.Configuration;
using Warehouse.Engines;
using Warehouse.Migrations;

namespace Warehouse.Commands;

/// <summary>
/// The `warehouse` command line. Every command resolves its engine the same way and migrates
/// the schema first when it is behind; errors reach stderr as one sentence and an exit code.
/// </summary>
public sealed class Cli(TextWriter output, TextWriter error, IConfiguration? configuration = null)
{
    private readonly Option<string?> _engine = new("--engine")
    {
        Description = "duckdb (default), postgres or sqlserver; also WAREHOUSE_ENGINE or appsettings.json Engine",
        Recursive = true,
    };

    private readonly Option<string?> _connection = new("--connection")
    {
        Description = "connection string (for duckdb just the file path; default warehouse.duckdb); also WAREHOUSE_CONNECTION",
        Recursive = true,
    };

    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    public static Task<int> RunAsync(string[] args) => new Cli(Console.Out, Console.Error).InvokeAsync(args);

    public async Task<int> InvokeAsync(string[] args, CancellationToken cancellationToken = default)
    {
        var root = BuildRoot();
        // Values are taken literally: a lock, metric or path starting with '@' is not a response file.
        var parseResult = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parseResult.Errors.Count > 0)
        {
            foreach (var parseError in parseResult.Errors)
            {
                await Error.WriteLineAsync($"warehouse: {parseError.Message}");
            }

            await Error.WriteLineAsync("Run 'warehouse --help' for the commands and their options.");
            return ExitCodes.UsageError;
        }

        return await parseResult.InvokeAsync(new InvocationConfiguration { Output = Output, Error = Error }, cancellationToken);
    }

    private RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "warehouse: offline eval results and production traces in one database, on shared keys.");
        root.Options.Add(_engine);
        root.Options.Add(_connection);
        root.Subcommands.Add(new MigrateCommand(this).Build());
        root.Subcommands.Add(new LoadCommand(this).Build());
        root.Subcommands.Add(new WatchCommand(this).Build());
        root.Subcommands.Add(new StatusCommand(this).Build());
        root.Subcommands.Add(new QueryCommand(this).Build());
        root.Subcommands.Add(new DemoCommand(this).Build());
        root.Subcommands.Add(new CompareCommand(this).Build());
        root.Subcommands.Add(new DeltasCommand(this).Build());
        root.Subcommands.Add(new GateCommand(this).Build());
        root.Subcommands.Add(new LockCommand(this).Build());
        root.Subcommands.Add(new SeedCommand(this).Build());
        root.Subcommands.Add(new ReportCommand(this).Build());
        return root;
    }

    /// <summary>Runs a command body with the shared error handling and exit codes.</summary>
    public Command Define(Command command, Func<ParseResult, CancellationToken, Task<int>> body)
    {
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            string? connection = null;
            try
            {
                connection = parseResult.GetValue(_connection);
                return await body(parseResult, cancellationToken);
            }
            catch (ConfigurationException problem)
            {
                await Error.WriteLineAsync($"warehouse: {problem.Message}");
                return ExitCodes.UsageError;
            }
            catch (MigrationException problem)
            {
                await Error.WriteLineAsync($"warehouse: the schema could not be migrated: {Scrub(problem.Message, connection)}");
                return ExitCodes.Failure;
            }
            catch (DbException problem)
            {
                await Error.WriteLineAsync($"warehouse: the database said: {Scrub(problem.Message, connection)}");
                return ExitCodes.Failure;
            }
            catch (OperationCanceledException)
            {
                await Error.WriteLineAsync("warehouse: cancelled");
                return ExitCodes.Failure;
            }
        });
        return command;
    }

    private static string Scrub(string message, string? connection) =>
        connection is null ? message : ConnectionStrings.Scrub(message, connection);

    private IConfiguration? _configuration = configuration;

    /// <summary>appsettings.json and WAREHOUSE_* variables, read once per invocation.</summary>
    public IConfiguration Configuration => _configuration ??= WarehouseSettings.LoadConfiguration();

    /// <summary>Per-tool key paths from the `Sources` section.</summary>
    public Sources.SourceSettings SourceSettings => new(Configuration);

    public WarehouseSettings Settings(ParseResult parseResult) =>
        WarehouseSettings.Resolve(parseResult.GetValue(_engine), parseResult.GetValue(_connection), Configuration);

    /// <summary>
    /// The engine a loader (load, watch) writes through. On DuckDB it caps DuckDB's own memory
    /// (DuckDb:LoaderMemoryLimit, default <see cref="DuckDbEngine.DefaultLoaderMemoryLimit"/>) and its
    /// threads (DuckDb:LoaderThreads, default <see cref="DuckDbEngine.DefaultLoaderThreads"/>): DuckDB
    /// otherwise takes up to 80 % of the machine for a large file, which a scheduled loader on a shared
    /// host must not; beyond the limit it spills to the database's .tmp folder.
    /// </summary>
    public WarehouseEngine CreateLoaderEngine(ParseResult parseResult)
    {
        var engine = Settings(parseResult).CreateEngine();
        if (engine is DuckDbEngine duckDb)
        {
            duckDb.MemoryLimit = DuckDbEngine.ValidMemoryLimit(Configuration["DuckDb:LoaderMemoryLimit"] ?? DuckDbEngine.DefaultLoaderMemoryLimit);
            duckDb.Threads = DuckDbEngine.ValidThreads(Configuration["DuckDb:LoaderThreads"]);
        }

        return engine;
    }

    /// <summary>The engine, with its schema brought up to date ("every command migrates first if behind").</summary>
    public WarehouseEngine OpenWarehouse(ParseResult parseResult, out MigrationResult migration)
    {
        var engine = Settings(parseResult).CreateEngine();
        migration = new Migrator(engine).Migrate();
        return engine;
    }
}
