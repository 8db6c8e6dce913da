using Warehouse.Loading;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Traces.Otlp;

/// <summary>
/// A trace batch that fails while its parts are stored or while its traces are rolled up keeps nothing, says where
/// it failed, and leaves the file to load again. On DuckDB the two steps run side by side on two connections (the
/// parts' insert in the batch's transaction, the roll-up beside it), so whichever fails must stop the other before
/// the transaction is rolled back; elsewhere they run one after the other.
/// </summary>
public abstract class OtlpFailedBatchSuite : TraceSuite
{
    private static string File(string name) => Fixture("otlp", name);

    [Theory]
    [InlineData("storing", "storing the parts in etl.trace_parts")]
    [InlineData("rolling up", "rolling up the traces the file touched")]
    public async Task A_batch_that_fails_partway_keeps_nothing_and_the_file_loads_again(string point, string step)
    {
        FileLoadResult failed;
        Loader.FailAt.Value = point;
        try
        {
            failed = await LoadAsync(File("collector-0001.jsonl"));
        }
        finally
        {
            Loader.FailAt.Value = null;
        }

        Assert.Equal(FileLoadStatus.Failed, failed.Status);
        Assert.Contains($"a test stopped the batch while {point}", failed.Message);
        Assert.Contains($"(while {step})", failed.Message);
        Assert.Equal("failed", await ScalarAsync<string>("select status from etl.load_batches where batch_id = @id", new { id = failed.BatchId }));
        Assert.Equal(0L, await ScalarAsync<long>("select count(*) from etl.trace_parts"));
        Assert.Equal(0L, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));
        Assert.Equal(0L, await ScalarAsync<long>("select count(*) from etl.rejected_records"));

        var again = await LoadAsync(File("collector-0001.jsonl"));
        Assert.Equal((FileLoadStatus.Loaded, 9L, 9L, 0L, 4L), (again.Status, again.RowsRead, again.RowsLoaded, again.RowsRejected, again.RowsInserted));
        Assert.Equal(9L, await PartCountAsync("otlp"));
        Assert.Equal(4L, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));
    }

    [Fact]
    public async Task A_batch_with_a_refused_trace_that_then_fails_keeps_none_of_its_rejects()
    {
        // The roll-up's reject is set aside before the parts' insert fails: it must go with the batch.
        var line = """{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[{"traceId":"5c3e9a1f8b2d4e67a09c1b2d3e4f5a61","spanId":"1111111111111111","name":"turn","startTimeUnixNano":"1764151200000000000","endTimeUnixNano":"1764151201000000000","attributes":[{"key":"app.context_band","value":{"stringValue":"huge"}}],"status":{}}]}]}]}""";
        var file = Files.Write("collector-refused.jsonl", line + "\n");
        Loader.FailAt.Value = "storing";
        try
        {
            Assert.Equal(FileLoadStatus.Failed, (await LoadAsync(file)).Status);
        }
        finally
        {
            Loader.FailAt.Value = null;
        }

        Assert.Equal(0L, await ScalarAsync<long>("select count(*) from etl.rejected_records"));
        var again = await LoadAsync(file);
        Assert.Equal((FileLoadStatus.LoadedWithRejects, 1L), (again.Status, again.RowsRejected));
        Assert.Equal(1L, await ScalarAsync<long>("select count(*) from etl.rejected_records"));
    }
}

public sealed class OtlpFailedBatchDuckDbTests : OtlpFailedBatchSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class OtlpFailedBatchPostgresTests : OtlpFailedBatchSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class OtlpFailedBatchSqlServerTests : OtlpFailedBatchSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
