using Microsoft.Extensions.Configuration;
using Warehouse.Commands;
using Warehouse.Engines;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Commands;

/// <summary>
/// The loader caps DuckDB's own memory (DuckDb:LoaderMemoryLimit): DuckDB otherwise takes up to 80 % of
/// the machine for a large file. The cap reaches every connection the loader opens, a memory_limit in
/// the user's connection string wins, a malformed value is a usage error, and an out-of-memory
/// failure names the setting to raise.
/// </summary>
public sealed class LoaderMemoryLimitTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string Database => Path.Combine(_files.Folder, "warehouse.duckdb");

    private static async Task<string> MemoryLimitAsync(WarehouseEngine engine)
    {
        await using var connection = await engine.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "select current_setting('memory_limit')";
        return (string)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }

    [Fact]
    public async Task Loader_engine_caps_DuckDB_memory_by_default_and_the_setting_changes_it()
    {
        var defaults = new DuckDbEngine(Database) { MemoryLimit = DuckDbEngine.ValidMemoryLimit(DuckDbEngine.DefaultLoaderMemoryLimit) };
        var raised = new DuckDbEngine(Path.Combine(_files.Folder, "other.duckdb")) { MemoryLimit = DuckDbEngine.ValidMemoryLimit("1GB") };

        Assert.Equal("122.0 MiB", await MemoryLimitAsync(defaults));
        Assert.Equal("953.6 MiB", await MemoryLimitAsync(raised));
    }

    [Fact]
    public async Task Loader_engine_leaves_a_memory_limit_in_the_connection_string_alone()
    {
        var engine = new DuckDbEngine($"Data Source={Database};memory_limit=300MB") { MemoryLimit = "192MB" };

        Assert.Equal("286.1 MiB", await MemoryLimitAsync(engine));
    }

    private static async Task<long> ThreadsAsync(WarehouseEngine engine)
    {
        await using var connection = await engine.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "select cast(current_setting('threads') as bigint)";
        return (long)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }

    [Fact]
    public async Task Loader_engine_runs_DuckDB_on_one_thread_by_default_unless_the_setting_or_the_connection_string_says_otherwise()
    {
        var defaults = new DuckDbEngine(Database) { Threads = DuckDbEngine.ValidThreads(null) };
        var two = new DuckDbEngine(Path.Combine(_files.Folder, "two.duckdb")) { Threads = DuckDbEngine.ValidThreads("2") };
        var own = new DuckDbEngine($"Data Source={Path.Combine(_files.Folder, "own.duckdb")};threads=3") { Threads = 1 };

        Assert.Equal(1L, await ThreadsAsync(defaults));
        Assert.Equal(2L, await ThreadsAsync(two));
        Assert.Equal(3L, await ThreadsAsync(own));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("many")]
    [InlineData("2; drop table x")]
    public async Task Load_refuses_a_malformed_thread_count(string value)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["DuckDb:LoaderThreads"] = value }).Build();

        var (exitCode, _, error) = await RunAsync(configuration, "load", _files.TraceJsonl("traces.jsonl", 3));

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains("DuckDb:LoaderThreads", error);
        Assert.False(File.Exists(Database));
    }

    [Theory]
    [InlineData("lots")]
    [InlineData("192")]
    [InlineData("1GB; drop table x")]
    public async Task Load_refuses_a_malformed_memory_limit(string value)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["DuckDb:LoaderMemoryLimit"] = value }).Build();
        var output = new StringWriter();
        var error = new StringWriter();

        var exitCode = await new Cli(output, error, configuration)
            .InvokeAsync(["load", _files.TraceJsonl("traces.jsonl", 3), "--connection", Database], TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains("DuckDb:LoaderMemoryLimit", error.ToString());
        Assert.False(File.Exists(Database));
    }

    [Fact]
    public async Task Load_that_runs_out_of_the_cap_is_loaded_again_with_twice_the_memory()
    {
        var traces = _files.TraceJsonl("traces.jsonl", 20000);
        var tiny = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["DuckDb:LoaderMemoryLimit"] = "2MB" }).Build();
        await RunAsync(new ConfigurationBuilder().Build(), "migrate");

        var (exitCode, output, error) = await RunAsync(tiny, "load", traces);
        var (_, batches, _) = await RunAsync(new ConfigurationBuilder().Build(),
            "query", "select status, error_message from etl.load_batches order by batch_id", "--format", "csv");
        var (_, count, _) = await RunAsync(new ConfigurationBuilder().Build(),
            "query", "select count(*) from quality.trace_summaries", "--format", "csv");

        Assert.True(exitCode == ExitCodes.Success, output + error);
        Assert.Contains("DuckDB ran out of the loader's 2MB; loading the file again with 4MB", output + error);
        var statuses = batches.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
        Assert.True(statuses.Count >= 2, batches);
        Assert.StartsWith("loaded,", statuses[^1], StringComparison.Ordinal);
        Assert.All(statuses[..^1], line => Assert.Contains("DuckDB ran out of the loader's", line));
        // The failed attempt says what DuckDB said and in which step of the load it happened.
        Assert.Matches("(?i)(could not allocate|failed to pin|out of memory)", statuses[0]);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(statuses[0], "while (checking|staging|appending|keeping|updating|inserting|committing)"), statuses[0]);
        Assert.Equal("20000", count.Split('\n')[1].Trim());
    }

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(IConfiguration configuration, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await new Cli(output, error, configuration)
            .InvokeAsync([.. args, "--connection", Database], TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public void Out_of_memory_failures_name_the_setting_to_raise()
    {
        var engine = new DuckDbEngine(Database) { MemoryLimit = "192MB" };

        var hint = engine.FailureHint(new InvalidOperationException("TransactionContext Error: Failed to commit: failed to pin block of size 256.0 KiB"));

        Assert.NotNull(hint);
        Assert.Contains("192MB", hint);
        Assert.Contains("WAREHOUSE_DUCKDB__LOADERMEMORYLIMIT", hint);
        Assert.Null(engine.FailureHint(new InvalidOperationException("Constraint Error: duplicate key")));
        Assert.Null(new DuckDbEngine(Database).FailureHint(new InvalidOperationException("Out of Memory Error")));
    }
}
