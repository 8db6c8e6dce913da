using Warehouse.Engines;
using Warehouse.Loading;
using Warehouse.Migrations;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Engines;

/// <summary>
/// The engine suite: the same tests on every engine; each subclass says only how to get a fresh
/// database. An engine that is not here skips with a reason.
/// </summary>
public abstract class EngineSuite : DatabaseSuite
{
    [Fact]
    public async Task Migrate_creates_every_table_on_an_empty_database()
    {
        var result = new Migrator(Engine).Migrate();

        Assert.Equal(13, result.AppliedMigrations.Count);
        foreach (var table in new[] { "quality.eval_records", "quality.trace_summaries", "quality.comparisons", "quality.locks", "etl.load_batches", "etl.rejected_records", "etl.trace_parts" })
        {
            Assert.Equal(0L, await ScalarAsync<long>($"select count(*) from {table}"));
        }

        var viewScripts = Migrator.EmbeddedScripts(Migrator.EngineFolder(Engine.Kind), "views").Count;
        Assert.Equal(viewScripts, result.AppliedViews.Count);
        Assert.Equal(13L + viewScripts, await ScalarAsync<long>("select count(*) from etl.schema_versions"));
        foreach (var view in new[] { "eval_slices", "trace_slices", "slice_deltas", "divergences", "slice_mix", "coverage_gaps", "seed_candidates", "lock_status" })
        {
            Assert.Equal(0L, await ScalarAsync<long>($"select count(*) from quality.{view}"));
        }
    }

    [Fact]
    public async Task Migrate_twice_runs_nothing_the_second_time()
    {
        new Migrator(Engine).Migrate();

        var second = new Migrator(Engine).Migrate();

        Assert.False(second.AnythingRan);
        Assert.Empty(new Migrator(Engine).Pending());
    }

    [Fact]
    public async Task Views_rerun_when_a_view_script_changes_or_a_migration_ran()
    {
        var migrations = Migrator.EmbeddedScripts(Migrator.EngineFolder(Engine.Kind), "migrations").ToList();
        var views = new List<DbUp.Engine.SqlScript>
        {
            new("0100_create_test_view.sql", ViewScript("select 1 as answer")),
        };
        Migrator With() => new(Engine, kind => kind == "migrations" ? migrations : views);

        var first = With().Migrate();
        var unchanged = With().Migrate();
        views[0] = new DbUp.Engine.SqlScript("0100_create_test_view.sql", ViewScript("select 2 as answer"));
        var changed = With().Migrate();
        var answerAfterChange = await ScalarAsync<int>("select answer from quality.test_view");
        migrations.Add(new DbUp.Engine.SqlScript("9999_create_test_table.sql", "create table quality.test_table (note varchar(10))"));
        var afterMigration = With().Migrate();

        Assert.Equal(["views/0100_create_test_view.sql"], first.AppliedViews.Select(StripHash));
        Assert.False(unchanged.AnythingRan);
        Assert.Single(changed.AppliedViews);
        Assert.Empty(changed.AppliedMigrations);
        Assert.Equal(2, answerAfterChange);
        Assert.Equal(["9999_create_test_table.sql"], afterMigration.AppliedMigrations);
        Assert.Single(afterMigration.AppliedViews);
        Assert.False(With().Migrate().AnythingRan);
    }

    private string ViewScript(string select) => Engine.Kind == EngineKind.SqlServer
        ? $"create or alter view quality.test_view as {select}"
        : $"drop view if exists quality.test_view; create view quality.test_view as {select}";

    private static string StripHash(string name) => name[..name.IndexOf('@')];

    [Fact]
    public async Task Load_canonical_files_with_tens_of_thousands_of_rows_gives_the_right_counts()
    {
        var evals = Files.EvalCsv("evals.csv", cases: 10_000);
        var traces = Files.TraceJsonl("traces.jsonl", traces: 20_000);

        var evalResult = await LoadAsync(evals);
        var traceResult = await LoadAsync(traces);

        Assert.Equal(FileLoadStatus.Loaded, evalResult.Status);
        Assert.Equal((20_000L, 20_000L, 0L), (evalResult.RowsRead, evalResult.RowsInserted, evalResult.RowsRejected));
        Assert.Equal((20_000L, 20_000L), (traceResult.RowsRead, traceResult.RowsInserted));
        Assert.Equal(20_000L, await ScalarAsync<long>("select count(*) from quality.eval_records"));
        Assert.Equal(20_000L, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));
        Assert.Equal(2L, await ScalarAsync<long>("select count(*) from etl.load_batches where status = 'loaded'"));
        Assert.Equal(20_000L, await ScalarAsync<long>(
            "select cast(sum(rows_loaded) as bigint) from etl.load_batches where target_table = 'quality.eval_records'"));
    }

    [Fact]
    public async Task Load_keeps_values_exactly_as_the_file_gives_them()
    {
        var traces = Files.TraceJsonl("traces.jsonl", traces: 3);

        await LoadAsync(traces);

        var row = (await QueryAsync<(string, string, string, double, bool, string, string, string)>(
            "select trace_id, customer_tier, context_band, latency_ms, is_error, input_preview, attributes, model_version "
            + "from quality.trace_summaries where trace_id = 'tr-000001'")).Single();
        Assert.Equal(("tr-000001", "consumer", "<2k", 101.0, false, "Wo bleibt meine Rückerstattung, \"bitte\"?", """{"region":"eu"}""", "unknown"), row);
        var startedAt = await ScalarAsync<DateTime>("select started_at from quality.trace_summaries where trace_id = 'tr-000002'");
        Assert.Equal(new DateTime(2026, 11, 3, 12, 0, 0), DateTime.SpecifyKind(startedAt.Kind == DateTimeKind.Local ? startedAt.ToUniversalTime() : startedAt, DateTimeKind.Unspecified));
    }

    [Fact]
    public async Task Load_rejects_bad_records_with_line_and_reason_and_keeps_good_rows()
    {
        var path = Files.Write("bad.csv", CanonicalFiles.EvalHeader + "\n"
            + "promptfoo,run-1,case-1,correctness,1,gpt-4o,v3,ds,refund_request,consumer,0.9,true,2026-11-20T10:00:00Z,100\n"
            + "promptfoo,run-1,case-2,correctness,1,gpt-4o,v3,ds,refund_request,consumer,0.9,true,not-a-date,100\n"
            + "promptfoo,run-1,case-3,correctness,1,gpt-4o,v3,ds,refund_request,consumer,high,true,2026-11-20T10:00:00Z,100\n"
            + "promptfoo,run-1,,correctness,1,gpt-4o,v3,ds,refund_request,consumer,0.9,true,2026-11-20T10:00:00Z,100\n"
            + "promptfoo,run-1,case-5,correctness,1,gpt-4o,v3,ds,refund_request,consumer,0.9,perhaps,2026-11-20T10:00:00Z,100\n"
            + "promptfoo,run-1,case-6,correctness,1,gpt-4o,v3,ds,refund_request,consumer,0.4,false,2026-11-20T10:00:00Z,100\n");

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((6L, 2L, 4L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        var rejects = await QueryAsync<(long, string, string)>(
            "select record_number, reason, file_path from etl.rejected_records order by record_number");
        Assert.Equal([3L, 4L, 5L, 6L], rejects.Select(reject => reject.Item1));
        Assert.Contains("evaluated_at", rejects[0].Item2);
        Assert.Contains("score", rejects[1].Item2);
        Assert.Contains("missing key column case_id", rejects[2].Item2);
        Assert.Contains("is_passed", rejects[3].Item2);
        Assert.All(rejects, reject => Assert.Equal(path, reject.Item3));
        Assert.Equal(["case-1", "case-6"], await QueryAsync<string>("select case_id from quality.eval_records order by case_id"));
        Assert.StartsWith("promptfoo,run-1,case-3,", await ScalarAsync<string>("select raw_record from etl.rejected_records where record_number = 4"));
        Assert.Equal("loaded_with_rejects", await ScalarAsync<string>("select status from etl.load_batches"));
    }

    [Fact]
    public async Task Reload_of_the_same_file_changes_nothing()
    {
        var path = Files.EvalCsv("evals.csv", cases: 500);
        await LoadAsync(path);
        var before = await QueryAsync<(string, long)>("select case_id, _batch_id from quality.eval_records order by case_id, metric");

        var skipped = await LoadAsync(path);
        var forced = await LoadAsync(path, new LoadOptions(Force: true));

        Assert.Equal(FileLoadStatus.Skipped, skipped.Status);
        Assert.Equal((0L, 0L, 1000L), (forced.RowsInserted, forced.RowsUpdated, forced.RowsUnchanged));
        Assert.Equal(before, await QueryAsync<(string, long)>("select case_id, _batch_id from quality.eval_records order by case_id, metric"));
    }

    [Fact]
    public async Task Late_feedback_updates_rows_without_duplicating_them()
    {
        await LoadAsync(Files.TraceJsonl("day1.jsonl", traces: 100));

        var late = await LoadAsync(Files.TraceJsonl("day2.jsonl", traces: 10, complaint: true, feedback: 0.1, firstTrace: 40));

        Assert.Equal((0L, 10L), (late.RowsInserted, late.RowsUpdated));
        Assert.Equal(100L, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));
        Assert.Equal(10L, await ScalarAsync<long>("select count(*) from quality.trace_summaries where has_complaint = @yes and feedback_score = 0.1", new { yes = true }));
        Assert.Equal(10L, await ScalarAsync<long>("select count(*) from quality.trace_summaries where _batch_id = @batch", new { batch = late.BatchId }));
    }

    [Fact]
    public async Task Duplicate_keys_within_one_file_keep_the_last_record()
    {
        var path = Files.Write("dupes.jsonl",
            """
            {"trace_id":"t1","latency_ms":1}
            {"trace_id":"t2","latency_ms":2}
            {"trace_id":"t1","latency_ms":3}

            """);

        var result = await LoadAsync(path);

        Assert.Equal((3L, 2L), (result.RowsRead, result.RowsInserted));
        Assert.Equal(3.0, await ScalarAsync<double>("select latency_ms from quality.trace_summaries where trace_id = 't1'"));
    }

    [Fact]
    public async Task Missing_keys_are_stored_as_unknown_and_no_key_column_holds_null()
    {
        var path = Files.Write("sparse.jsonl",
            """
            {"eval_run_id":"r","case_id":"c1","metric":"m","prompt_version":"  v4  "}
            {"eval_run_id":"r","case_id":"c2","metric":"m","feature":""}

            """);

        await LoadAsync(path);

        var keyColumns = TableSchema.EvalRecords.Columns.Where(column => column.Role is ColumnRole.NaturalKey or ColumnRole.SharedKey).ToList();
        foreach (var column in keyColumns)
        {
            Assert.Equal(0L, await ScalarAsync<long>($"select count(*) from quality.eval_records where {column.Name} is null"));
        }

        Assert.Equal("v4", await ScalarAsync<string>("select prompt_version from quality.eval_records where case_id = 'c1'"));
        Assert.Equal(["unknown", "unknown"], await QueryAsync<string>("select feature from quality.eval_records order by case_id"));
        Assert.Equal(["canonical", "canonical"], await QueryAsync<string>("select source from quality.eval_records order by case_id"));
        Assert.Equal([1, 1], await QueryAsync<int>("select epoch from quality.eval_records order by case_id"));
    }

    [Fact]
    public async Task A_file_that_fails_midway_leaves_no_partial_batch()
    {
        // A CSV whose header lacks case_id cannot load at all: the batch is recorded as failed.
        var path = Files.Write("nokey.csv", "eval_run_id,metric,score\nr,m,0.5\n");

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("case_id", result.Message);
        Assert.Equal(0L, await ScalarAsync<long>("select count(*) from quality.eval_records"));
        Assert.Equal("failed", await ScalarAsync<string>("select status from etl.load_batches"));
    }

    [Fact]
    public async Task Unreadable_json_lines_are_rejected_and_the_rest_loads()
    {
        var path = Files.Write("mixed.jsonl",
            "{\"trace_id\":\"a\"}\n{\"trace_id\": \"b\",\n[1,2]\n{\"trace_id\":\"c\",\"feedback_score\":1.5}\n{\"trace_id\":\"d\",\"is_error\":\"sometimes\"}\n{\"trace_id\":\"e\"}\n");

        var result = await LoadAsync(path);

        Assert.Equal((6L, 2L, 4L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        var reasons = await QueryAsync<string>("select reason from etl.rejected_records order by record_number");
        Assert.Contains("not valid JSON", reasons[0]);
        Assert.Contains("not an object", reasons[1]);
        Assert.Contains("outside 0..1", reasons[2]);
        Assert.Contains("is_error", reasons[3]);
    }

    [Fact]
    public async Task Too_long_keys_are_rejected_not_truncated()
    {
        var longKey = new string('x', 10_000);
        var path = Files.Write("long.jsonl", $"{{\"trace_id\":\"{longKey}\"}}\n{{\"trace_id\":\"ok\",\"input_preview\":\"{new string('p', 5000)}\"}}\n");

        var result = await LoadAsync(path);

        Assert.Equal((1L, 1L), (result.RowsLoaded, result.RowsRejected));
        Assert.Contains("10000 characters", await ScalarAsync<string>("select reason from etl.rejected_records"));
        Assert.Equal(2000L, await ScalarAsync<long>("select length(input_preview) from quality.trace_summaries"));
    }
}

public sealed class DuckDbEngineTests : EngineSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class PostgresEngineTests : EngineSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class SqlServerEngineTests : EngineSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
