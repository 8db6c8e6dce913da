using Warehouse.Loading;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Unattended;

/// <summary>
/// `watch --once` as a scheduler runs it: real child processes on a real inbox and database. The
/// issue's acceptance case: an inbox of good exports, bad exports and a file still being written,
/// processed by two watchers started together and once more after one is killed with -9 mid-file,
/// ends with every good record loaded exactly once, every bad file in quarantine with its reason,
/// the partial files untouched, and exit codes a scheduler can act on.
/// </summary>
public abstract class WatchSuite : DatabaseSuite
{
    private const int BigTraces = 300_000;

    private string Inbox => Path.Combine(Files.Folder, "inbox");

    private string Archive => Path.Combine(Files.Folder, "archive");

    private string Quarantine => Path.Combine(Files.Folder, "quarantine");

    private WarehouseProcess Watch(params string[] extra) => WarehouseProcess.Start(Engine, Files.Folder,
        ["watch", "--once", "--inbox", Inbox, "--archive", Archive, "--quarantine", Quarantine, "--settle", "0.5", "--wait", "120", .. extra]);

    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Two_watchers_at_once_and_a_killed_one_load_every_good_record_exactly_once()
    {
        Directory.CreateDirectory(Inbox);
        Files.EvalCsv(Path.Combine("inbox", "evals-a.csv"), cases: 50);
        Files.TraceJsonl(Path.Combine("inbox", "traces-a.jsonl"), traces: 2000);
        Files.Write(Path.Combine("inbox", "evals-with-a-bad-line.csv"), CanonicalFiles.EvalHeader + "\n"
            + "promptfoo,run-2,c1,correctness,1,m,v3,ds,f,consumer,0.9,true,2026-11-20T10:00:00Z,10\n"
            + "promptfoo,run-2,c2,correctness,1,m,v3,ds,f,consumer,lots,true,2026-11-20T10:00:00Z,10\n");
        Directory.CreateDirectory(Path.Combine(Inbox, "collector"));
        foreach (var name in new[] { "collector-0001.jsonl", "collector-0002.jsonl", "feedback-0001.logs.jsonl" })
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "trace", "otlp", name), Path.Combine(Inbox, "collector", name));
        }

        Files.Write(Path.Combine("inbox", "unknown.csv"), "a,b\n1,2\n");
        Files.Write(Path.Combine("inbox", "empty.jsonl"), "");
        File.WriteAllBytes(Path.Combine(Inbox, "image.bin"), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]);
        var uploading = Files.Write(Path.Combine("inbox", "upload.jsonl.part"), "{\"source\":\"x\",\"trace_id\":\"half");
        var growing = Path.Combine(Inbox, "growing.jsonl");
        using var writer = new CancellationTokenSource();
        var grow = GrowAsync(growing, writer.Token);

        // Two watchers started together: one loads, the other waits for the lock and finds nothing left to do.
        using (var first = Watch())
        using (var second = Watch())
        {
            var results = new[] { await first.WaitAsync(Patience, Token), await second.WaitAsync(Patience, Token) };
            var codes = results.Select(result => result.ExitCode).Order().ToList();
            // The one that did the work quarantined three files: exit 1; the other had nothing to do: exit 0.
            Assert.True(codes.SequenceEqual([0, 1]), string.Join("\n----\n", results.Select(result => $"{result.ExitCode}\n{result.Output}\n{result.Error}")));
            var worker = results.Single(result => result.ExitCode == 1);
            Assert.Contains("3 quarantined", worker.Output);
            Assert.Contains("left     " + uploading, worker.Output);
            Assert.Contains("left     " + growing, worker.Output);
        }

        Assert.Equal(101L, await ScalarAsync<long>("select count(*) from quality.eval_records"));
        Assert.Equal(2004L, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));
        Assert.Equal(["empty.jsonl", "empty.jsonl.error.txt", "image.bin", "image.bin.error.txt", "unknown.csv", "unknown.csv.error.txt"],
            Directory.EnumerateFiles(Quarantine).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("cannot tell the kind of file", await File.ReadAllTextAsync(Path.Combine(Quarantine, "unknown.csv.error.txt"), Token));
        Assert.Contains("empty", await File.ReadAllTextAsync(Path.Combine(Quarantine, "empty.jsonl.error.txt"), Token));

        // A big export arrives; the watcher loading it is killed with -9 halfway.
        Files.TraceJsonl(Path.Combine("inbox", "traces-big.jsonl"), traces: BigTraces, firstTrace: 100_000);
        using (var doomed = Watch())
        {
            await WaitUntilLoadingAsync(doomed);
            doomed.Kill();
            await doomed.WaitAsync(Patience, Token);
        }

        // Nothing of the killed batch is visible.
        Assert.Equal(2004L, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));

        using (var again = Watch())
        {
            var (exitCode, output, error) = await again.WaitAsync(Patience, Token);
            Assert.True(exitCode == 0, output + error);
            Assert.Contains("traces-big.jsonl -> quality.trace_summaries", output);
            if (KillsMidBatch)
            {
                Assert.Contains("marked 1 batch(es) a stopped loader left running as failed (abandoned)", output);
            }
        }

        await writer.CancelAsync();
        await grow;

        Assert.Equal(101L, await ScalarAsync<long>("select count(*) from quality.eval_records"));
        Assert.Equal(2004L + BigTraces, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));
        // One loaded batch per good file, however many watchers ran.
        var loadedFiles = await QueryAsync<string>("select file_path from etl.load_batches where status in ('loaded', 'loaded_with_rejects')");
        Assert.Equal(loadedFiles.Count, loadedFiles.Distinct().Count());
        Assert.Equal(7, loadedFiles.Count);
        Assert.Equal(0L, await ScalarAsync<long>("select count(*) from etl.load_batches where status = 'running'"));
        // The partial upload and the growing file are where they were; the good files are archived under today's date.
        Assert.Equal("{\"source\":\"x\",\"trace_id\":\"half", await File.ReadAllTextAsync(uploading, Token));
        Assert.True(File.Exists(growing));
        var archived = Directory.EnumerateFiles(Archive, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["collector-0001.jsonl", "collector-0002.jsonl", "evals-a.csv", "evals-with-a-bad-line.csv", "feedback-0001.logs.jsonl", "traces-a.jsonl", "traces-big.jsonl"],
            archived);
        Assert.Equal(["growing.jsonl", "upload.jsonl.part"],
            Directory.EnumerateFiles(Inbox, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_loaded_file_that_cannot_be_archived_is_reported_and_stays_and_is_not_loaded_twice()
    {
        Directory.CreateDirectory(Inbox);
        Files.TraceJsonl(Path.Combine("inbox", "traces.jsonl"), traces: 30);
        // Where the archive folder should be there is a file: nothing can be moved there (as with a read-only or full disk).
        await File.WriteAllTextAsync(Archive, "not a folder", Token);

        var (firstCode, firstOutput, firstError) = await Watch().WaitAsync(Patience, Token);
        var (secondCode, secondOutput, secondError) = await Watch().WaitAsync(Patience, Token);

        Assert.True(firstCode == 1, firstOutput + firstError);
        Assert.Contains("was loaded but could not be moved to the archive", firstError);
        Assert.Contains("it stays in the inbox", firstError);
        Assert.Equal(1, secondCode);
        Assert.Contains("identical to the file loaded in batch", secondOutput + secondError);
        Assert.True(File.Exists(Path.Combine(Inbox, "traces.jsonl")));
        Assert.Equal(30L, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));
        Assert.Equal(1L, await ScalarAsync<long>("select count(*) from etl.load_batches where status = 'loaded'"));
    }

    [Fact]
    public async Task On_a_cron_schedule_files_dropped_into_the_inbox_are_picked_up_by_the_next_pass()
    {
        Directory.CreateDirectory(Inbox);
        using (var watcher = WarehouseProcess.Start(Engine, Files.Folder,
                   "watch", "--cron", "*/2 * * * * *", "--inbox", Inbox, "--archive", Archive, "--quarantine", Quarantine, "--settle", "0.3"))
        {
            Files.EvalCsv(Path.Combine("inbox", "evals.csv"), cases: 10);
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!Directory.Exists(Archive) || !Directory.EnumerateFiles(Archive, "evals.csv", SearchOption.AllDirectories).Any())
            {
                Assert.True(DateTime.UtcNow < deadline && !watcher.HasExited, "the scheduled pass never archived the file");
                await Task.Delay(200, Token);
            }

            watcher.Kill();
            await watcher.WaitAsync(Patience, Token);
        }

        Assert.Equal(20L, await ScalarAsync<long>("select count(*) from quality.eval_records"));
    }

    /// <summary>A file an exporter is still appending to, a line every 100 ms.</summary>
    private static async Task GrowAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            for (var line = 0; ; line++)
            {
                await File.AppendAllTextAsync(path, $"{{\"source\":\"x\",\"trace_id\":\"grow-{line}\"}}\n", cancellationToken);
                await Task.Delay(100, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>True where the test can see the batch start before it kills the loader.</summary>
    protected virtual bool KillsMidBatch => true;

    /// <summary>Waits until the child is inside the big file's batch (or, where the database cannot be watched, a while).</summary>
    protected virtual async Task WaitUntilLoadingAsync(WarehouseProcess process)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            if (await ScalarAsync<long>("select count(*) from etl.load_batches where status = 'running' and file_path like '%traces-big.jsonl'") > 0)
            {
                await Task.Delay(500, Token);
                return;
            }

            await Task.Delay(100, Token);
        }

        Assert.Fail("the watcher never started loading the big file");
    }
}

public sealed class WatchDuckDbTests : WatchSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();

    // The DuckDB file is locked by the loader, so its progress cannot be read from outside: kill
    // after start-up, migration and settling, while the 300,000-line file is being read.
    protected override Task WaitUntilLoadingAsync(WarehouseProcess process) => Task.Delay(TimeSpan.FromSeconds(4), Token);

    protected override bool KillsMidBatch => false;
}

public sealed class WatchPostgresTests : WatchSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class WatchSqlServerTests : WatchSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
