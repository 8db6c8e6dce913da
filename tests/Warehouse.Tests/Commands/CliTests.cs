using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Warehouse.Commands;
using Warehouse.Configuration;
using Warehouse.Engines;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Commands;

/// <summary>The console end to end on DuckDB: exit codes, output formats, configuration, secrets.</summary>
public sealed class CliTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    private string Database => Path.Combine(_files.Folder, "warehouse.duckdb");

    public void Dispose() => _files.Dispose();

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var configuration = new ConfigurationBuilder().Build();
        var exitCode = await new Cli(output, error, configuration).InvokeAsync(args, TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Migrate_prints_what_ran_then_that_nothing_is_pending()
    {
        var first = await RunAsync("migrate", "--connection", Database);
        var second = await RunAsync("migrate", "--connection", Database);

        Assert.Equal(0, first.ExitCode);
        Assert.Contains("applied migration 0001_create_schemas.sql", first.Output);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("nothing to apply", second.Output);
    }

    [Fact]
    public async Task Load_exits_3_and_names_file_line_and_reason_for_each_rejected_record()
    {
        var path = _files.Write("evals.csv", CanonicalFiles.EvalHeader + "\n"
            + "promptfoo,r,c1,correctness,1,m,v3,ds,f,consumer,0.9,true,2026-11-20T10:00:00Z,10\n"
            + "promptfoo,r,c2,correctness,1,m,v3,ds,f,consumer,0.9,true,2026-13-45T10:00:00Z,10\n");

        var (exitCode, output, error) = await RunAsync("load", path, "--connection", Database);

        Assert.Equal(ExitCodes.LoadedWithRejects, exitCode);
        Assert.Contains("1 loaded", output);
        Assert.Contains($"{path} line 3: evaluated_at '2026-13-45T10:00:00Z' is not an ISO-8601 timestamp", error);
    }

    [Fact]
    public async Task Load_exits_1_when_a_file_cannot_be_loaded_at_all()
    {
        var missing = await RunAsync("load", Path.Combine(_files.Folder, "nope.csv"), "--connection", Database);
        var empty = await RunAsync("load", _files.Write("empty.csv", ""), "--connection", Database);
        var unknown = await RunAsync("load", _files.Write("other.csv", "a,b\n1,2\n"), "--connection", Database);

        Assert.Equal((ExitCodes.Failure, ExitCodes.Failure, ExitCodes.Failure), (missing.ExitCode, empty.ExitCode, unknown.ExitCode));
        Assert.Contains("nope.csv: no such file", missing.Error);
        Assert.Contains("empty.csv: the file is empty", empty.Error);
        Assert.Contains("cannot tell the kind of file", unknown.Error);
    }

    [Fact]
    public async Task Load_of_a_folder_loads_every_file_and_a_second_run_skips_them()
    {
        _files.EvalCsv("evals.csv", cases: 5);
        _files.TraceJsonl("traces.jsonl", traces: 7);

        var first = await RunAsync("load", _files.Folder, "--connection", Database);
        var second = await RunAsync("load", _files.Folder, "--connection", Database);
        var count = await RunAsync("query", "select count(*) as n from quality.trace_summaries", "--format", "csv", "--connection", Database);

        Assert.Equal(0, first.ExitCode);
        Assert.Equal(2, first.Output.Split('\n').Count(line => line.StartsWith("loaded", StringComparison.Ordinal)));
        Assert.Equal(0, second.ExitCode);
        Assert.Equal(2, second.Output.Split('\n').Count(line => line.StartsWith("skipped", StringComparison.Ordinal)));
        Assert.Equal("n\n7\n", count.Output);
    }

    [Fact]
    public async Task Load_of_a_trace_store_folder_reports_traces_rolled_up_and_a_second_run_skips_every_file()
    {
        var folder = Path.Combine(_files.Folder, "collector");
        Directory.CreateDirectory(folder);
        var fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "trace", "otlp");
        foreach (var name in new[] { "collector-0001.jsonl", "collector-0002.jsonl", "feedback-0001.logs.jsonl", "feedback-0002.logs.jsonl" })
        {
            File.Copy(Path.Combine(fixtures, name), Path.Combine(folder, name));
        }

        var first = await RunAsync("load", folder, "--connection", Database);
        var second = await RunAsync("load", folder, "--connection", Database);
        var malformed = await RunAsync("load", Path.Combine(fixtures, "malformed.jsonl"), "--connection", Database);
        var count = await RunAsync("query", "select count(*) as n from quality.trace_summaries", "--format", "csv", "--connection", Database);

        Assert.Equal(0, first.ExitCode);
        Assert.Contains("collector-0001.jsonl -> quality.trace_summaries as otlp-traces-jsonl", first.Output);
        Assert.Contains("9 spans/records read, 9 kept, 0 rejected; 4 traces rolled up (4 new, 0 updated, 0 unchanged)", first.Output);
        Assert.Contains("as otlp-logs-jsonl", first.Output);
        Assert.Equal(0, second.ExitCode);
        Assert.Equal(4, second.Output.Split('\n').Count(line => line.StartsWith("skipped", StringComparison.Ordinal)));
        Assert.Equal(ExitCodes.LoadedWithRejects, malformed.ExitCode);
        Assert.Contains("malformed.jsonl line 1: resourceSpans[0].scopeSpans[0].spans[2]: spanId 'xyz' is not 16 hex digits", malformed.Error);
        Assert.Equal("n\n5\n", count.Output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Watch_needs_once_or_a_valid_cron_and_an_inbox_that_exists()
    {
        Directory.CreateDirectory(Path.Combine(_files.Folder, "inbox"));
        var inbox = Path.Combine(_files.Folder, "inbox");

        var neither = await RunAsync("watch", "--inbox", inbox, "--connection", Database);
        var both = await RunAsync("watch", "--inbox", inbox, "--once", "--cron", "* * * * *", "--connection", Database);
        var badCron = await RunAsync("watch", "--inbox", inbox, "--cron", "every five minutes", "--connection", Database);
        var missing = await RunAsync("watch", "--inbox", Path.Combine(_files.Folder, "nope"), "--once", "--connection", Database);
        var empty = await RunAsync("watch", "--inbox", inbox, "--once", "--settle", "0", "--connection", Database);

        Assert.Equal((ExitCodes.UsageError, ExitCodes.UsageError, ExitCodes.UsageError, ExitCodes.UsageError),
            (neither.ExitCode, both.ExitCode, badCron.ExitCode, missing.ExitCode));
        Assert.Contains("either --once", neither.Error);
        Assert.Contains("is not a cron expression", badCron.Error);
        Assert.Contains("does not exist", missing.Error);
        // An empty inbox is nothing to do, not a failure.
        Assert.Equal(ExitCodes.Success, empty.ExitCode);
        Assert.Contains("pass done: 0 loaded", empty.Output);
    }

    [Fact]
    public async Task A_value_starting_with_an_at_sign_is_taken_literally_not_as_a_response_file()
    {
        var (exitCode, output, error) = await RunAsync("query", "@select-this", "--connection", Database);

        // The SQL text reaches the database as given (and fails there), instead of "response file not found".
        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.DoesNotContain("Response file", error + output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Query_prints_table_csv_and_json()
    {
        const string sql = "select 1 as n, 'a, \"b\"' as text_value, cast(null as varchar) as empty_value, 2.5 as score";

        var table = await RunAsync("query", sql, "--connection", Database);
        var csv = await RunAsync("query", sql, "--format", "csv", "--connection", Database);
        var json = await RunAsync("query", sql, "--format", "json", "--connection", Database);

        Assert.Equal(0, table.ExitCode);
        Assert.StartsWith("n  text_value  empty_value  score", table.Output);
        Assert.Contains("NULL", table.Output);
        Assert.Contains("(1 row)", table.Output);
        Assert.Equal("n,text_value,empty_value,score\n1,\"a, \"\"b\"\"\",,2.5\n", csv.Output);
        using var document = JsonDocument.Parse(json.Output);
        var row = document.RootElement.EnumerateArray().Single();
        Assert.Equal(1, row.GetProperty("n").GetInt32());
        Assert.Equal("a, \"b\"", row.GetProperty("text_value").GetString());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("empty_value").ValueKind);
        Assert.Equal(2.5, row.GetProperty("score").GetDouble());
    }

    [Fact]
    public async Task Query_runs_statements_that_return_no_rows()
    {
        var (exitCode, output, _) = await RunAsync("query", "create table quality.my_notes (note varchar)", "--connection", Database);

        Assert.Equal(0, exitCode);
        Assert.Contains("rows affected", output);
    }

    [Fact]
    public async Task Usage_errors_exit_2_with_a_clear_message()
    {
        var badSql = await RunAsync("query", "select from nowhere where", "--connection", Database);
        var badEngine = await RunAsync("migrate", "--engine", "oracle");
        var noConnection = await RunAsync("migrate", "--engine", "postgres");
        var unknownCommand = await RunAsync("explode");
        var badFormat = await RunAsync("query", "select 1", "--format", "xml", "--connection", Database);

        Assert.Equal(2, badSql.ExitCode);
        Assert.Contains("the query failed", badSql.Error);
        Assert.Equal(2, badEngine.ExitCode);
        Assert.Contains("unknown engine 'oracle'", badEngine.Error);
        Assert.Equal(2, noConnection.ExitCode);
        Assert.Contains("needs a connection string", noConnection.Error);
        Assert.Equal(2, unknownCommand.ExitCode);
        Assert.Equal(2, badFormat.ExitCode);
    }

    [Fact]
    public async Task A_password_in_the_connection_string_is_never_printed()
    {
        const string secret = "S3cr3t-do-not-print";

        var (exitCode, output, error) = await RunAsync(
            "migrate", "--engine", "postgres", "--connection", $"Host=127.0.0.1;Port=1;Username=nobody;Password={secret};Timeout=2");

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.DoesNotContain(secret, output + error);
        Assert.NotEmpty(error);
    }

    [Fact]
    public void Connection_strings_are_masked()
    {
        var masked = ConnectionStrings.Mask("Host=db;Username=u;Password=hunter2;Database=w");

        Assert.DoesNotContain("hunter2", masked);
        Assert.Contains("***", masked);
        Assert.DoesNotContain("hunter2", ConnectionStrings.Scrub("login failed for Password=hunter2", "Host=db;Password=hunter2"));
    }

    [Fact]
    public void Settings_come_from_options_then_environment_then_appsettings_then_the_default()
    {
        var folder = _files.Folder;
        File.WriteAllText(Path.Combine(folder, "appsettings.json"), """{ "Engine": "postgres", "Connection": "Host=from-file" }""");
        var fileOnly = WarehouseSettings.LoadConfiguration(folder, new Dictionary<string, string?>());
        var withEnvironment = WarehouseSettings.LoadConfiguration(folder, new Dictionary<string, string?>
        {
            ["WAREHOUSE_CONNECTION"] = "Host=from-env",
        });
        var empty = WarehouseSettings.LoadConfiguration(Path.Combine(folder, "missing-folder-is-fine"), new Dictionary<string, string?>());

        Assert.Equal(new WarehouseSettings("postgres", "Host=from-file"), WarehouseSettings.Resolve(null, null, fileOnly));
        Assert.Equal(new WarehouseSettings("postgres", "Host=from-env"), WarehouseSettings.Resolve(null, null, withEnvironment));
        Assert.Equal(new WarehouseSettings("duckdb", "x.duckdb"), WarehouseSettings.Resolve("duckdb", "x.duckdb", withEnvironment));
        Assert.Equal(new WarehouseSettings("duckdb", DuckDbEngine.DefaultFile), WarehouseSettings.Resolve(null, null, empty));
    }

    [Fact]
    public void A_bare_path_is_a_duckdb_connection()
    {
        Assert.Equal("Data Source=/tmp/x.duckdb", DuckDbEngine.Normalize("/tmp/x.duckdb"));
        Assert.Equal("Data Source=a.duckdb;threads=1", DuckDbEngine.Normalize("Data Source=a.duckdb;threads=1"));
    }

    [Fact]
    public async Task Demo_runs_in_an_empty_folder_and_tells_the_story()
    {
        var demoFolder = Path.Combine(_files.Folder, "demo-data");

        var (exitCode, output, error) = await RunAsync("demo", "--dir", demoFolder, "--connection", Database);
        var traces = await RunAsync("query", "select count(*) from quality.trace_summaries", "--format", "csv", "--connection", Database);
        var evals = await RunAsync("query", "select count(*) from quality.eval_records", "--format", "csv", "--connection", Database);

        Assert.True(exitCode == 0, error);
        Assert.Contains("comparison 'refund-v3-to-v4' and three locks are registered", output);
        Assert.Contains("refund-window-misquoted", output);
        Assert.True(File.Exists(Path.Combine(demoFolder, "report.html")), "the demo writes its report");
        Assert.Contains("0 rejected", output);
        Assert.Contains("regressed", output);
        Assert.Contains("improved", output);
        Assert.Equal("24000", traces.Output.Split('\n')[1]);
        Assert.Equal("2400", evals.Output.Split('\n')[1]);

        // An A/A comparison on the same data: refund-v3's first week against its second week
        // online, and refund-v3 against itself offline. Nothing may read improved or regressed.
        var added = await RunAsync("compare", "add", "--name", "a-a", "--key", "prompt_version",
            "--baseline", "refund-v3", "--candidate", "refund-v3",
            "--baseline-from", "2026-11-01", "--baseline-to", "2026-11-08",
            "--candidate-from", "2026-11-08", "--candidate-to", "2026-11-15", "--connection", Database);
        var verdicts = await RunAsync("query",
            "select side, verdict, count(*) as n_rows from quality.slice_deltas where comparison_name = 'a-a' group by side, verdict order by side, verdict",
            "--format", "csv", "--connection", Database);
        var story = await RunAsync("query",
            "select side, verdict from quality.slice_deltas where comparison_name = 'refund-v3-to-v4' and slice_level = 'overall' "
            + "and metric in ('pass_rate:correctness', 'complaint_rate') order by side",
            "--format", "csv", "--connection", Database);

        Assert.True(added.ExitCode == 0, added.Error);
        Assert.DoesNotContain("improved", verdicts.Output);
        Assert.DoesNotContain("regressed", verdicts.Output);
        Assert.Contains("online,unchanged,", verdicts.Output);
        Assert.Equal("side,verdict\noffline,improved\nonline,regressed\n", story.Output);
    }
}
