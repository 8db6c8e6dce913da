using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Spectre.Console;
using Warehouse.Commands;
using Warehouse.Loading;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Commands;

/// <summary>What `load` (and `watch`) print per file: plain lines, JSON lines, the progress display, and no secrets.</summary>
public sealed class LoadReporterTests : IDisposable
{
    private const string Secret = "hunter2-do-not-print";
    private const string SecretConnection = $"Host=db;Username=loader;Password={Secret};Database=warehouse";

    private static readonly DateTimeOffset Now = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);

    private readonly CanonicalFiles _files = new();

    private string Database => Path.Combine(_files.Folder, "warehouse.duckdb");

    public void Dispose() => _files.Dispose();

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await new Cli(output, error, new ConfigurationBuilder().Build()).InvokeAsync(args, TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }

    private static (LoadReporter Reporter, StringWriter Output, StringWriter Error) NewReporter(bool json, string? connection = null)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        var reporter = new LoadReporter(output, error, new LoadReporterOptions(json, connection, Clock: new FixedClock(Now)),
            progressConsole: null, TimeSpan.Zero);
        return (reporter, output, error);
    }

    private static FileLoadResult Loaded(string path) => new(path, FileLoadStatus.LoadedWithRejects, 7, "canonical-csv", "quality.eval_records",
        RowsRead: 10, RowsLoaded: 9, RowsRejected: 1, RowsInserted: 6, RowsUpdated: 2, Message: "1 record(s) rejected; see etl.rejected_records where batch_id = 7",
        FirstRejects: [new RejectedRecord(3, "score 'abc' is not a number")]);

    private static FileLoadResult Traces(string path) => new(path, FileLoadStatus.Loaded, 8, "otlp-traces-jsonl", "quality.trace_summaries",
        RowsRead: 9, RowsLoaded: 9, RowsInserted: 4, Traces: new TraceRollupCounts(5, 4, 1, 0));

    [Fact]
    public async Task Load_json_prints_one_parsable_object_per_event_with_the_counts_and_nothing_on_stderr()
    {
        var evals = _files.Write("evals.csv", CanonicalFiles.EvalHeader + "\n"
            + "promptfoo,r,c1,correctness,1,m,v3,ds,f,consumer,0.9,true,2026-11-20T10:00:00Z,10\n"
            + "promptfoo,r,c2,correctness,1,m,v3,ds,f,consumer,0.9,true,2026-13-45T10:00:00Z,10\n");
        var traces = _files.TraceJsonl("traces.jsonl", traces: 3);

        var (exitCode, output, error) = await RunAsync("load", evals, traces, "--json", "--connection", Database);

        Assert.Equal(ExitCodes.LoadedWithRejects, exitCode);
        Assert.Equal("", error);
        var events = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(["file_started", "file_loaded", "file_started", "file_loaded"], events.Select(line => line.GetProperty("event").GetString()));
        var loaded = events[1];
        Assert.Equal("warning", loaded.GetProperty("level").GetString());
        Assert.Equal(evals, loaded.GetProperty("file").GetString());
        Assert.Equal("loaded_with_rejects", loaded.GetProperty("status").GetString());
        Assert.Equal("canonical-csv", loaded.GetProperty("format").GetString());
        Assert.Equal("quality.eval_records", loaded.GetProperty("table").GetString());
        Assert.True(loaded.GetProperty("batch_id").GetInt64() > 0);
        Assert.True(DateTimeOffset.TryParse(loaded.GetProperty("timestamp").GetString(), out _));
        var counts = loaded.GetProperty("counts");
        Assert.Equal((2, 1, 1, 1, 0), (counts.GetProperty("read").GetInt64(), counts.GetProperty("loaded").GetInt64(),
            counts.GetProperty("rejected").GetInt64(), counts.GetProperty("inserted").GetInt64(), counts.GetProperty("updated").GetInt64()));
        var reject = Assert.Single(loaded.GetProperty("rejects").EnumerateArray());
        Assert.Equal(3, reject.GetProperty("record").GetInt64());
        Assert.Contains("is not an ISO-8601 timestamp", reject.GetProperty("reason").GetString());
        Assert.Equal("info", events[3].GetProperty("level").GetString());
        Assert.Equal(3, events[3].GetProperty("counts").GetProperty("inserted").GetInt64());
        Assert.All(events, line => Assert.Equal(
            ["timestamp", "level", "event", "file", "batch_id", "format", "table", "status", "counts", "duration_ms", "destination", "message", "rejects"],
            line.EnumerateObject().Select(property => property.Name)));
    }

    [Fact]
    public async Task Json_lines_carry_trace_rollup_counts_failures_and_watch_events()
    {
        var (reporter, output, error) = NewReporter(json: true);

        await reporter.StartFile("/in/collector.jsonl");
        await reporter.Report(Traces("/in/collector.jsonl"));
        await reporter.Report(new FileLoadResult("/in/bad.csv", FileLoadStatus.Failed, 9, Message: "/in/bad.csv: the file is empty"));
        await reporter.Report(new FileLoadResult("/in/again.csv", FileLoadStatus.Skipped, 7, "canonical-csv", "quality.eval_records", Message: "identical"));
        await reporter.Archived("/in/collector.jsonl", "/archive/collector.jsonl");
        await reporter.Quarantined("/in/bad.csv", "the file is empty", "/quarantine/bad.csv");
        await reporter.Left("/in/partial.csv");
        await reporter.Problem("/in/locked.csv", "cannot be moved to the archive: access denied");
        await reporter.Note("pass_done", "pass done: 1 loaded, 1 quarantined");

        Assert.Equal("", error.ToString());
        var events = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(["file_started", "file_loaded", "file_failed", "file_skipped", "file_archived", "file_quarantined", "file_left", "file_problem", "pass_done"],
            events.Select(line => line.GetProperty("event").GetString()));
        Assert.Equal(["info", "info", "error", "info", "info", "warning", "info", "error", "info"], events.Select(line => line.GetProperty("level").GetString()));
        Assert.Equal("2026-11-20T10:00:00.000Z", events[0].GetProperty("timestamp").GetString());
        var traceCounts = events[1].GetProperty("counts");
        Assert.Equal((4, 1, 5), (traceCounts.GetProperty("traces_rolled_up").GetInt64(), traceCounts.GetProperty("traces_waiting").GetInt64(),
            traceCounts.GetProperty("traces_touched").GetInt64()));
        Assert.Equal(0, events[1].GetProperty("duration_ms").GetInt64());
        Assert.Equal("failed", events[2].GetProperty("status").GetString());
        Assert.Equal("/in/bad.csv: the file is empty", events[2].GetProperty("message").GetString());
        Assert.Equal("/archive/collector.jsonl", events[4].GetProperty("destination").GetString());
        Assert.Equal("the file is empty", events[5].GetProperty("message").GetString());
        Assert.Equal("still being written", events[6].GetProperty("message").GetString());
        Assert.Equal(JsonValueKind.Null, events[6].GetProperty("counts").ValueKind);
        Assert.Equal("cannot be moved to the archive: access denied", events[7].GetProperty("message").GetString());
        Assert.Equal(JsonValueKind.Null, events[8].GetProperty("file").ValueKind);
        Assert.Equal("pass done: 1 loaded, 1 quarantined", events[8].GetProperty("message").GetString());
    }

    [Fact]
    public async Task Plain_mode_prints_the_load_command_wording_unchanged()
    {
        var (reporter, output, error) = NewReporter(json: false);

        await reporter.StartFile("/in/evals.csv");
        await reporter.Report(Loaded("/in/evals.csv"));
        await reporter.Report(Traces("/in/collector.jsonl"));
        await reporter.Report(new FileLoadResult("/in/again.csv", FileLoadStatus.Skipped, 7, Message: "identical to the file loaded in batch 7"));
        await reporter.Report(new FileLoadResult("/in/bad.csv", FileLoadStatus.Failed, 9, Message: "/in/bad.csv: the file is empty"));
        await reporter.Archived("/in/evals.csv", "/archive/evals.csv");
        await reporter.Quarantined("/in/bad.csv", "the file is empty");
        await reporter.Quarantined("/in/worse.csv", "no known format", "/quarantine/worse.csv");
        await reporter.Left("/in/partial.csv");
        await reporter.Problem("/in/locked.csv", "cannot be moved to the archive: access denied");
        await reporter.Note("pass_done", "pass done: 1 loaded");

        Assert.Equal(
            "loaded   /in/evals.csv -> quality.eval_records as canonical-csv, batch 7: 10 read, 9 loaded (6 new, 2 updated, 1 unchanged), 1 rejected\n"
            + "loaded   /in/collector.jsonl -> quality.trace_summaries as otlp-traces-jsonl, batch 8: 9 spans/records read, 9 kept, 0 rejected; "
            + "4 traces rolled up (4 new, 0 updated, 0 unchanged), 1 with feedback only, waiting for their spans\n"
            + "skipped  /in/again.csv: identical to the file loaded in batch 7\n"
            + "failed   /in/bad.csv (batch 9)\n"
            + "archived /in/evals.csv to /archive/evals.csv\n"
            + "quarantined /in/bad.csv: the file is empty\n"
            + "quarantined /in/worse.csv to /quarantine/worse.csv: no known format\n"
            + "left     /in/partial.csv: still being written\n"
            + "pass done: 1 loaded\n",
            output.ToString());
        Assert.Equal(
            "warehouse: /in/evals.csv line 3: score 'abc' is not a number\n"
            + "warehouse: /in/evals.csv: 1 record(s) rejected; see etl.rejected_records where batch_id = 7\n"
            + "warehouse: /in/bad.csv: the file is empty\n"
            + "warehouse: /in/locked.csv: cannot be moved to the archive: access denied\n",
            error.ToString());
        Assert.False(reporter.ShowsProgress);
    }

    [Fact]
    public async Task No_progress_display_or_ansi_escape_when_output_is_redirected()
    {
        _files.EvalCsv("evals.csv", cases: 50);
        _files.TraceJsonl("traces.jsonl", traces: 20);
        var output = new StringWriter();
        var cli = new Cli(output, new StringWriter(), new ConfigurationBuilder().Build());

        var (exitCode, text, error) = await RunAsync("load", _files.Folder, "--connection", Database);

        Assert.Equal(0, exitCode);
        Assert.DoesNotContain('\u001b', text + error);
        Assert.All(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.StartsWith("loaded   ", line));
        Assert.False(new LoadReporter(cli, new LoadReporterOptions()).ShowsProgress);
        Assert.False(LoadReporter.CanShowProgress(Console.Out, json: false, outputRedirected: true, term: "xterm-256color"));
        Assert.False(LoadReporter.CanShowProgress(Console.Out, json: true, outputRedirected: false, term: "xterm-256color"));
        Assert.False(LoadReporter.CanShowProgress(Console.Out, json: false, outputRedirected: false, term: "dumb"));
        Assert.False(LoadReporter.CanShowProgress(output, json: false, outputRedirected: false, term: "xterm-256color"));
        Assert.True(LoadReporter.CanShowProgress(Console.Out, json: false, outputRedirected: false, term: "xterm-256color"));
    }

    [Fact]
    public async Task On_a_terminal_a_long_file_shows_progress_that_is_cleared_before_its_line()
    {
        var file = _files.EvalCsv("evals.csv", cases: 5);
        var terminal = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(terminal),
        });
        var output = new StringWriter { NewLine = "\n" };
        await using var reporter = new LoadReporter(output, new StringWriter(), new LoadReporterOptions(), console, TimeSpan.Zero);
        reporter.ExpectFiles([file]);

        await reporter.StartFile(file);
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        await reporter.Report(Loaded(file));

        Assert.True(reporter.ShowsProgress);
        var drawn = terminal.ToString();
        Assert.Contains("evals.csv", drawn);
        Assert.Contains('\u001b', drawn);
        Assert.EndsWith("\u001b[?25h", drawn.TrimEnd());
        Assert.StartsWith($"loaded   {file} -> quality.eval_records", output.ToString());
        Assert.DoesNotContain('\u001b', output.ToString());
    }

    [Fact]
    public async Task Json_never_shows_progress_even_when_asked()
    {
        var (reporter, _, _) = NewReporter(json: true);
        var forced = new LoadReporter(new StringWriter(), new StringWriter(), new LoadReporterOptions(Json: true, Progress: true), null, TimeSpan.Zero);

        await using (reporter)
        await using (forced)
        {
            Assert.False(reporter.ShowsProgress);
            Assert.False(forced.ShowsProgress);
        }
    }

    [Fact]
    public async Task Secrets_of_the_connection_string_are_scrubbed_from_errors_in_both_modes()
    {
        var failure = new FileLoadResult("/in/x.csv", FileLoadStatus.Failed, 3,
            Message: $"/in/x.csv: the database said: login failed for {SecretConnection} (password {Secret})",
            FirstRejects: [new RejectedRecord(2, $"key {Secret} too long")]);
        var (plain, plainOutput, plainError) = NewReporter(json: false, SecretConnection);
        var (json, jsonOutput, jsonError) = NewReporter(json: true, SecretConnection);

        foreach (var reporter in new[] { plain, json })
        {
            await reporter.Report(failure);
            await reporter.Report(Loaded("/in/y.csv") with { FirstRejects = [new RejectedRecord(4, $"token {Secret} rejected")], Message = $"see {Secret}" });
            await reporter.Quarantined("/in/x.csv", $"the database said: Password={Secret}");
        }

        var printed = plainOutput + "\n" + plainError + "\n" + jsonOutput + "\n" + jsonError;
        Assert.DoesNotContain(Secret, printed);
        Assert.Contains("Password=***", plainError.ToString());
        Assert.Contains("token *** rejected", plainError.ToString());
        Assert.Contains("Password=***", jsonOutput.ToString());
        Assert.Contains("quarantined /in/x.csv: the database said: Password=***", plainOutput.ToString());
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;

        public override long GetTimestamp() => 0;
    }
}
