using Warehouse.Engines;
using Warehouse.Loading;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Unattended;

/// <summary>One loader at a time per database, on every engine: the second waits, then gives up with a clear message.</summary>
public abstract class LoaderLockSuite : DatabaseSuite
{
    protected override bool MigrateOnInitialize => true;

    [Fact]
    public async Task A_second_loader_waits_for_the_first_and_gives_up_after_its_wait()
    {
        var messages = new List<string>();
        await using (await LoaderLock.AcquireAsync(Engine, TimeSpan.FromSeconds(5), Token))
        {
            var busy = await Assert.ThrowsAsync<LoaderBusyException>(() =>
                LoaderLock.AcquireAsync(Engine, TimeSpan.FromMilliseconds(600), Token, messages.Add));
            Assert.Contains("another loader is still running", busy.Message);
            Assert.Contains("nothing was loaded", busy.Message);
        }

        Assert.Single(messages);
        Assert.Contains("waiting up to", messages[0]);
        // Released: the next loader gets it at once.
        await using var again = await LoaderLock.AcquireAsync(Engine, TimeSpan.Zero, Token);
    }

    [Fact]
    public async Task A_waiting_loader_gets_the_lock_when_the_first_lets_go()
    {
        var first = await LoaderLock.AcquireAsync(Engine, TimeSpan.FromSeconds(5), Token);
        var second = LoaderLock.AcquireAsync(Engine, TimeSpan.FromSeconds(20), Token);
        await Task.Delay(400, Token);
        Assert.False(second.IsCompleted);

        await first.DisposeAsync();
        await using var held = await second;
    }

    [Fact]
    public async Task The_lock_holder_loads_while_it_holds_the_lock()
    {
        var path = Files.TraceJsonl("traces.jsonl", traces: 20);

        FileLoadResult result;
        await using (await LoaderLock.AcquireAsync(Engine, TimeSpan.FromSeconds(5), Token))
        {
            result = await new Loader(Engine).LoadFileAsync(path, new LoadOptions(), Token);
        }

        Assert.Equal((FileLoadStatus.Loaded, 20L), (result.Status, result.RowsInserted));
    }
}

public sealed class LoaderLockDuckDbTests : LoaderLockSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class LoaderLockPostgresTests : LoaderLockSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class LoaderLockSqlServerTests : LoaderLockSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
