using Warehouse.Engines;
using Warehouse.Loading;
using Warehouse.Migrations;
using Warehouse.Tests.Support;
using Warehouse.Tests.Traces;

namespace Warehouse.Tests.Loading;

/// <summary>
/// The fact tables' natural keys hold through every way a key can come twice: twice in one file,
/// the same file loaded again with --force, a later export that changes some rows and adds others,
/// and trace parts exported again. On PostgreSQL and SQL Server a unique constraint would refuse a
/// duplicate anyway; on DuckDB (migration 0011) the loader alone keeps the keys, so these counts
/// are the only guard there is.
/// </summary>
public abstract class LoaderKeySuite : DatabaseSuite
{
    private static readonly (string Table, string Key)[] FactKeys =
    [
        ("quality.eval_records", "source, eval_run_id, case_id, metric, epoch"),
        ("quality.trace_summaries", "source, trace_id"),
        ("etl.trace_parts", "source, trace_id, part_id"),
    ];

    [Fact]
    public async Task Keys_stay_unique_through_duplicates_in_a_file_forced_reloads_and_later_exports()
    {
        // case-000001 twice in the file (the later line wins), then the whole file again with --force,
        // then a later export: 5 cases changed, 5 new.
        var evals = Files.EvalCsv("evals.csv", cases: 20);
        File.AppendAllLines(evals, [EvalLine("case-000001", "correctness", 0.7)]);
        var laterEvals = Files.EvalCsv("evals-later.csv", cases: 25, promptVersion: "refund-v3");
        var laterLines = File.ReadAllLines(laterEvals).ToList();
        laterLines.RemoveRange(1, 2 * 15);
        laterLines.Add(EvalLine("case-000019", "correctness", 0.2));
        File.WriteAllLines(laterEvals, laterLines);

        var traces = Files.TraceJsonl("traces.jsonl", traces: 30);
        File.AppendAllText(traces, File.ReadAllLines(traces)[3].Replace("\"latency_ms\":103", "\"latency_ms\":9999") + "\n");
        var laterTraces = Files.TraceJsonl("traces-later.jsonl", traces: 20, complaint: true, firstTrace: 20);

        var otlp = TraceSuite.Fixture("otlp", "collector-0001.jsonl");

        Assert.Equal(FileLoadStatus.Loaded, (await LoadAsync(evals)).Status);
        Assert.Equal(FileLoadStatus.Loaded, (await LoadAsync(evals, new LoadOptions(Force: true))).Status);
        var later = await LoadAsync(laterEvals);
        Assert.Equal(FileLoadStatus.Loaded, (await LoadAsync(traces)).Status);
        Assert.Equal(FileLoadStatus.Loaded, (await LoadAsync(traces, new LoadOptions(Force: true))).Status);
        Assert.Equal(FileLoadStatus.Loaded, (await LoadAsync(laterTraces)).Status);
        Assert.Equal(FileLoadStatus.Loaded, (await LoadAsync(otlp)).Status);
        Assert.Equal(FileLoadStatus.Loaded, (await LoadAsync(otlp, new LoadOptions(Force: true))).Status);

        foreach (var (table, key) in FactKeys)
        {
            var duplicates = await QueryAsync<string>(
                $"select concat_ws('|', {key}) from {table} group by {key} having count(*) > 1");
            Assert.True(duplicates.Count == 0, $"{table}: keys stored more than once: {string.Join(", ", duplicates.Take(5))}");
        }

        // 20 cases x 2 metrics, then 5 more cases; the later line of case-000001 won, the later export's changed case-000019 too.
        Assert.Equal(10L, later.RowsInserted);
        Assert.Equal(50L, await ScalarAsync<long>("select count(*) from quality.eval_records"));
        Assert.Equal(0.7, await ScalarAsync<double>(
            "select score from quality.eval_records where case_id = 'case-000001' and metric = 'correctness'"));
        Assert.Equal(1L, later.RowsUpdated);
        Assert.Equal(0.2, await ScalarAsync<double>(
            "select score from quality.eval_records where case_id = 'case-000019' and metric = 'correctness'"));
        Assert.Equal(40L, await ScalarAsync<long>("select count(*) from quality.trace_summaries where source = 'langfuse'"));
        Assert.Equal(9999.0, await ScalarAsync<double>("select latency_ms from quality.trace_summaries where trace_id = 'tr-000003'"));
        Assert.Equal(20L, await ScalarAsync<long>(
            "select count(*) from quality.trace_summaries where source = 'langfuse' and has_complaint"));
        Assert.True(await ScalarAsync<long>("select count(*) from etl.trace_parts") > 0);
    }

    [Fact]
    public async Task Keys_stay_unique_when_one_file_holds_a_key_many_times()
    {
        var lines = Enumerable.Range(0, 500).Select(index => EvalLine($"case-{index % 7:D6}", "correctness", (index % 10) / 10.0));
        var evals = Files.Write("repeats.csv", CanonicalFiles.EvalHeader + "\n" + string.Join("\n", lines) + "\n");

        var result = await LoadAsync(evals);

        Assert.Equal((500L, 7L), (result.RowsRead, result.RowsInserted));
        Assert.Equal(7L, await ScalarAsync<long>("select count(*) from quality.eval_records"));
        // The last of the 500 lines per key: index 499 is case 2 with score 0.9; 493 is case 3 with 0.3.
        Assert.Equal(0.9, await ScalarAsync<double>("select score from quality.eval_records where case_id = 'case-000002'"));
        Assert.Equal(0.3, await ScalarAsync<double>("select score from quality.eval_records where case_id = 'case-000003'"));
    }

    private static string EvalLine(string caseId, string metric, double score) =>
        FormattableString.Invariant(
            $"promptfoo,run-1,{caseId},{metric},1,gpt-4o,refund-v3,refund-golden,refund_request,consumer,{score:0.0},{(score >= 0.5 ? "true" : "false")},2026-11-20T10:00:00Z,10");

    [Fact]
    public async Task A_batch_records_the_sha256_of_its_file_whatever_its_size()
    {
        // Several of the hash's 1 MB reads, and not a whole number of them; and a file smaller than one. Each file first
        // as a size never loaded (hashed beside the load), then reordered to the same size (hashed before it, reading ahead).
        foreach (var (name, cases) in new[] { ("big-evals.csv", 12_000), ("small-evals.csv", 3) })
        {
            var path = Files.EvalCsv(name, cases);
            var lines = await File.ReadAllLinesAsync(path, Token);
            (lines[1], lines[^1]) = (lines[^1], lines[1]);
            var reordered = Files.Write("reordered-" + name, string.Join("\n", lines) + "\n");
            Assert.True(cases < 10 || new FileInfo(path).Length > 2_500_000, $"{name} is {new FileInfo(path).Length} bytes");
            Assert.Equal(new FileInfo(path).Length, new FileInfo(reordered).Length);
            foreach (var file in new[] { path, reordered })
            {
                var result = await LoadAsync(file);
                Assert.Equal(FileLoadStatus.Loaded, result.Status);
                Assert.Equal(Sha256(file), await ScalarAsync<string>("select file_hash from etl.load_batches where batch_id = @id", new { id = result.BatchId }));
            }
        }
    }

    /// <summary>
    /// A file whose size no loaded batch of its table had cannot be one loaded before, so its hash is computed beside
    /// the load and written with the batch's status; a file of a loaded size is hashed first and skipped if identical.
    /// Every batch ends with its file's hash, whichever way it went, a failed one too.
    /// </summary>
    [Fact]
    public async Task Files_of_a_loaded_size_are_hashed_first_and_every_batch_ends_with_its_hash()
    {
        var first = Files.EvalCsv("evals.csv", cases: 40);
        // The same size, other bytes: two records swap places.
        var lines = File.ReadAllLines(first);
        (lines[1], lines[2]) = (lines[2], lines[1]);
        var swapped = Files.Write("evals-swapped.csv", string.Join("\n", lines) + "\n");
        var copy = Files.Write("evals-copy.csv", File.ReadAllText(first));
        var empty = Files.Write("empty.csv", CanonicalFiles.EvalHeader + "\n");
        Assert.Equal(new FileInfo(first).Length, new FileInfo(swapped).Length);

        var loaded = await LoadAsync(first);
        var sameSize = await LoadAsync(swapped);
        var identical = await LoadAsync(copy);
        var forced = await LoadAsync(copy, new LoadOptions(Force: true));
        var failed = await LoadAsync(empty);

        Assert.Equal(
            [FileLoadStatus.Loaded, FileLoadStatus.Loaded, FileLoadStatus.Skipped, FileLoadStatus.Loaded, FileLoadStatus.Failed],
            new[] { loaded.Status, sameSize.Status, identical.Status, forced.Status, failed.Status });
        Assert.Equal(loaded.BatchId, identical.BatchId);
        Assert.Contains($"identical to the file loaded in batch {loaded.BatchId}", identical.Message);
        foreach (var (result, path) in new[] { (loaded, first), (sameSize, swapped), (forced, copy), (failed, empty) })
        {
            Assert.Equal(Sha256(path), await ScalarAsync<string>("select file_hash from etl.load_batches where batch_id = @id", new { id = result.BatchId }));
        }

        // The forced batch is identical to the first: the next copy is skipped as identical to the latest of them.
        var again = await LoadAsync(Files.Write("evals-copy-2.csv", File.ReadAllText(first)));
        Assert.Equal((FileLoadStatus.Skipped, forced.BatchId), (again.Status, again.BatchId));
    }

    [Fact]
    public async Task A_trace_export_hashed_beside_its_load_records_its_hash_and_is_skipped_when_it_comes_again()
    {
        var otlp = TraceSuite.Fixture("otlp", "collector-0001.jsonl");
        var loaded = await LoadAsync(otlp);
        var again = await LoadAsync(otlp);

        Assert.Equal((FileLoadStatus.Loaded, FileLoadStatus.Skipped, loaded.BatchId), (loaded.Status, again.Status, again.BatchId));
        Assert.Equal(Sha256(otlp), await ScalarAsync<string>("select file_hash from etl.load_batches where batch_id = @id", new { id = loaded.BatchId }));
    }

    private static string Sha256(string path) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));
}

public sealed class DuckDbLoaderKeyTests : LoaderKeySuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();

    /// <summary>
    /// 0011 rebuilds DuckDB's three fact tables without their unique keys: a database that already
    /// holds rows keeps every one of them, with every value, and the views work on the new tables.
    /// </summary>
    [Fact]
    public async Task Migration_0011_keeps_every_row_of_a_database_loaded_before_it()
    {
        Assert.Equal(10, MigrateBefore("0011").AppliedMigrations.Count);
        var loader = new Loader(Engine);
        await loader.LoadFileAsync(Files.EvalCsv("evals.csv", cases: 40), new LoadOptions(), Token);
        await loader.LoadFileAsync(Files.TraceJsonl("traces.jsonl", traces: 60, feedback: 0.5), new LoadOptions(), Token);
        await loader.LoadFileAsync(TraceSuite.Fixture("otlp", "collector-0001.jsonl"), new LoadOptions(), Token);
        var snapshot = await SnapshotAsync();
        Assert.Equal(1, await UniqueConstraintsAsync("trace_summaries"));

        var result = MigrateBefore("0012");

        Assert.Equal(["0011_loader_enforced_fact_keys.sql"], result.AppliedMigrations);
        Assert.Equal(snapshot, await SnapshotAsync());
        Assert.Equal(0, await UniqueConstraintsAsync("trace_summaries"));
        Assert.Equal(0, await UniqueConstraintsAsync("eval_records"));
        Assert.Equal(0, await UniqueConstraintsAsync("trace_parts"));
        // Defaults and checks came along: a row that leaves the keys out gets 'unknown', a bad band is refused.
        await ScalarAsync<int>("insert into quality.trace_summaries (source, trace_id, _batch_id, _loaded_at) values ('t', 'x', 1, now()) returning 1");
        Assert.Equal("unknown", await ScalarAsync<string>("select customer_tier from quality.trace_summaries where source = 't'"));
        await Assert.ThrowsAnyAsync<Exception>(() => ScalarAsync<int>(
            "insert into quality.trace_summaries (source, trace_id, context_band, _batch_id, _loaded_at) values ('t', 'y', 'huge', 1, now()) returning 1"));
        Assert.True(await ScalarAsync<long>("select count(*) from quality.trace_slices") > 0);
        Assert.True(await ScalarAsync<long>("select count(*) from quality.eval_slices") > 0);
    }

    /// <summary>
    /// 0012 rebuilds etl.trace_parts with the compression of its text columns named: a database that
    /// already holds parts keeps every one of them, the roll-up reads them as before, and parts
    /// stored afterwards are written with the named methods, not DuckDB's per-segment choice.
    /// </summary>
    [Fact]
    public async Task Migration_0012_keeps_every_part_and_later_parts_are_stored_with_the_named_compression()
    {
        MigrateBefore("0012");
        var loader = new Loader(Engine);
        await loader.LoadFileAsync(Files.TraceJsonl("traces.jsonl", traces: 60, feedback: 0.5), new LoadOptions(), Token);
        await loader.LoadFileAsync(TraceSuite.Fixture("otlp", "collector-0001.jsonl"), new LoadOptions(), Token);
        var snapshot = await SnapshotAsync();

        var result = MigrateBefore("0013");

        Assert.Equal(["0012_trace_parts_fixed_compression.sql"], result.AppliedMigrations);
        Assert.Equal(snapshot, await SnapshotAsync());
        // A later file's spans join the traces the earlier one began: the roll-up reads the rebuilt table's parts.
        var later = await loader.LoadFileAsync(TraceSuite.Fixture("otlp", "collector-0002.jsonl"), new LoadOptions(), Token);
        Assert.Equal((FileLoadStatus.Loaded, 0L, 2L), (later.Status, later.RowsInserted, later.RowsUpdated));
        await ScalarAsync<int>("checkpoint; select 1");
        var methods = await QueryAsync<(string Column, string Compression)>(
            "select distinct column_name as Column, compression as Compression from pragma_storage_info('etl.trace_parts') "
            + "where segment_type = 'VARCHAR' and compression <> 'Constant' order by 1, 2");
        Assert.Equal(
            [("body", "FSST"), ("part_id", "FSST"), ("part_kind", "Dictionary"), ("source", "Dictionary"), ("trace_id", "Dictionary")],
            methods);
    }

    /// <summary>
    /// 0013 rebuilds the two fact tables with the compression of their key, label and identifier columns named: a
    /// database that already holds rows keeps every one with every value, defaults and checks hold, a later export
    /// updates and adds rows as before, and what is written afterwards uses the named methods.
    /// </summary>
    [Fact]
    public async Task Migration_0013_keeps_every_row_and_later_rows_are_stored_with_the_named_compression()
    {
        MigrateBefore("0013");
        var loader = new Loader(Engine);
        await loader.LoadFileAsync(Files.EvalCsv("evals.csv", cases: 40), new LoadOptions(), Token);
        await loader.LoadFileAsync(Files.TraceJsonl("traces.jsonl", traces: 60, feedback: 0.5), new LoadOptions(), Token);
        await loader.LoadFileAsync(TraceSuite.Fixture("otlp", "collector-0001.jsonl"), new LoadOptions(), Token);
        var snapshot = await SnapshotAsync();

        var result = new Migrator(Engine).Migrate();

        Assert.Equal(["0013_fact_tables_fixed_compression.sql"], result.AppliedMigrations);
        Assert.Equal(snapshot, await SnapshotAsync());
        var later = await loader.LoadFileAsync(Files.TraceJsonl("traces-later.jsonl", traces: 20, complaint: true, firstTrace: 50),
            new LoadOptions(), Token);
        Assert.Equal((FileLoadStatus.Loaded, 10L, 10L), (later.Status, later.RowsInserted, later.RowsUpdated));
        var otlp = await loader.LoadFileAsync(TraceSuite.Fixture("otlp", "collector-0002.jsonl"), new LoadOptions(), Token);
        Assert.Equal((FileLoadStatus.Loaded, 2L), (otlp.Status, otlp.RowsUpdated));
        Assert.Equal("unknown", await ScalarAsync<string>(
            "insert into quality.eval_records (source, eval_run_id, case_id, metric, epoch, _batch_id, _loaded_at) "
            + "values ('t', 'r', 'c', 'm', 1, 1, now()) returning customer_tier"));
        await Assert.ThrowsAnyAsync<Exception>(() => ScalarAsync<int>(
            "insert into quality.trace_summaries (source, trace_id, context_band, _batch_id, _loaded_at) values ('t', 'y', 'huge', 1, now()) returning 1"));
        Assert.True(await ScalarAsync<long>("select count(*) from quality.trace_slices") > 0);
        Assert.True(await ScalarAsync<long>("select count(*) from quality.eval_slices") > 0);

        await ScalarAsync<int>("checkpoint; select 1");
        foreach (var (table, dictionary, fsst) in new[]
        {
            ("quality.trace_summaries", new[] { "source", "model_version", "prompt_version", "feature", "customer_tier", "context_band" },
                new[] { "trace_id", "input_preview" }),
            ("quality.eval_records", new[] { "source", "eval_run_id", "metric", "model_version", "dataset_id", "customer_tier" },
                new[] { "case_id" }),
        })
        {
            var methods = (await QueryAsync<(string Column, string Compression)>(
                    $"select distinct column_name as Column, compression as Compression from pragma_storage_info('{table}') "
                    + "where segment_type = 'VARCHAR' and compression not in ('Constant', 'Uncompressed')"))
                .ToLookup(method => method.Column, method => method.Compression);
            foreach (var column in dictionary)
            {
                Assert.Equal(["Dictionary"], methods[column].ToArray());
            }

            foreach (var column in fsst)
            {
                Assert.Equal(["FSST"], methods[column].ToArray());
            }
        }
    }

    [Fact]
    public async Task A_failed_load_leaves_no_staging_table_and_a_killed_loaders_leftover_is_dropped_by_the_next()
    {
        var cutOff = Files.Write("cut.jsonl", "{\"trace_id\":\"a\"}\n{\"trace_id\":\"b\"}\n");
        var empty = Files.Write("empty.csv", CanonicalFiles.EvalHeader + "\n");
        Assert.Equal(FileLoadStatus.Loaded, (await LoadAsync(cutOff)).Status);
        Assert.Equal(FileLoadStatus.Failed, (await LoadAsync(empty)).Status);
        Assert.Equal(0L, await StagingTablesAsync());

        // A loader killed while staging leaves its committed staging table (and its batch 'running').
        await ScalarAsync<int>("create table etl.stage_trace_summaries_987 (trace_id varchar); select 1");
        await ScalarAsync<int>("create table etl.stages_kept (note varchar); select 1");
        Assert.Equal(1L, await StagingTablesAsync());

        await new Loader(Engine).AbandonRunningBatchesAsync(Token);

        Assert.Equal(0L, await StagingTablesAsync());
        Assert.Equal(1L, await ScalarAsync<long>("select count(*) from information_schema.tables where table_schema = 'etl' and table_name = 'stages_kept'"));
    }

    /// <summary>Applies the shipped migrations numbered below <paramref name="first"/> (and every view): a database as it stood before that one.</summary>
    private MigrationResult MigrateBefore(string first)
    {
        var before = Migrator.EmbeddedScripts("duckdb", "migrations").Where(script => string.CompareOrdinal(script.Name, first) < 0).ToList();
        var views = Migrator.EmbeddedScripts("duckdb", "views");
        return new Migrator(Engine, kind => kind == "migrations" ? before : views).Migrate();
    }

    private Task<long> StagingTablesAsync() => ScalarAsync<long>(
        "select count(*) from information_schema.tables where table_schema = 'etl' and starts_with(table_name, 'stage_')");

    private async Task<string> SnapshotAsync()
    {
        var parts = new List<string>();
        foreach (var table in new[] { "quality.eval_records", "quality.trace_summaries", "etl.trace_parts" })
        {
            var text = await QueryAsync<string>(
                $"select string_agg(cast(t as varchar), '\n' order by cast(t as varchar)) from {table} as t");
            parts.Add($"{table}:{text.Single()}");
        }

        return string.Join("\n\n", parts);
    }

    private Task<int> UniqueConstraintsAsync(string table) => ScalarAsync<int>(
        "select cast(count(*) as integer) from duckdb_constraints() where table_name = @table and constraint_type in ('UNIQUE', 'PRIMARY KEY')",
        new { table });
}

/// <summary>
/// The same on DuckDB with the set-based steps split into key partitions of three keys each, as a
/// batch of more than a million rows is split (DuckDbEngine.KeysPerPartition): every key still
/// lands once, whichever partition its duplicates and its stored row fall into.
/// </summary>
public sealed class DuckDbKeyPartitionTests : LoaderKeySuite
{
    protected override async Task<TestDatabase> CreateDatabaseAsync()
    {
        var database = await TestDatabases.DuckDbAsync();
        ((DuckDbEngine)database.Engine).KeysPerPartition = 3;
        return database;
    }

    [Fact]
    public async Task A_batch_in_many_key_partitions_keeps_the_counts_and_leaves_no_staging_table()
    {
        var result = await LoadAsync(Files.EvalCsv("evals.csv", cases: 50));
        var later = await LoadAsync(Files.EvalCsv("evals-later.csv", cases: 60, promptVersion: "refund-v4"));

        Assert.Equal((100L, 100L, 0L), (result.RowsRead, result.RowsInserted, result.RowsUpdated));
        Assert.Equal((120L, 20L, 100L), (later.RowsRead, later.RowsInserted, later.RowsUpdated));
        Assert.Equal(120L, await ScalarAsync<long>("select count(distinct case_id || metric) from quality.eval_records where prompt_version = 'refund-v4'"));
        Assert.Equal(0L, await ScalarAsync<long>("select count(*) from information_schema.tables where table_schema = 'etl' and table_name like 'stage%'"));
    }
}

public sealed class PostgresLoaderKeyTests : LoaderKeySuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class SqlServerLoaderKeyTests : LoaderKeySuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
