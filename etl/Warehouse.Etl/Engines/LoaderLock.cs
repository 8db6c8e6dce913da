using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using Dapper;
using DuckDB.NET.Data;

namespace Warehouse.Engines;

/// <summary>Another loader holds the database and did not let go within the wait.</summary>
public sealed class LoaderBusyException(string message) : Exception(message);

/// <summary>
/// One loader at a time per database, by the engine's own locking: a PostgreSQL session advisory
/// lock, SQL Server's `sp_getapplock` (session owner), and for DuckDB the database file itself
/// (a process that has it open keeps every other process out) plus an in-process gate. The lock
/// lives on a connection held for as long as the loader runs, so a loader that is killed lets go
/// with its connection: nothing is left to clean up. A second loader waits up to the given time,
/// then gives up with a message saying so. A server restart also ends the lock with its session;
/// the loader's retry then loads on without it, and the natural keys and one transaction per file
/// still keep a second loader that starts meanwhile from duplicating anything.
/// </summary>
public static class LoaderLock
{
    /// <summary>The advisory lock key on PostgreSQL ("WHLOAD" in ASCII).</summary>
    public const long AdvisoryKey = 0x57484C4F4144;

    /// <summary>The application lock resource on SQL Server.</summary>
    public const string AppLockResource = "warehouse-loader";

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> DuckDbGates = new(StringComparer.Ordinal);

    /// <summary>
    /// Takes the loader lock, waiting up to <paramref name="wait"/>; <paramref name="waiting"/> is
    /// told once when the lock is busy, so an operator sees why nothing happens.
    /// </summary>
    public static async Task<IAsyncDisposable> AcquireAsync(WarehouseEngine engine, TimeSpan wait, CancellationToken cancellationToken,
        Action<string>? waiting = null)
    {
        var clock = Stopwatch.StartNew();
        var told = false;
        void Tell()
        {
            if (!told)
            {
                told = true;
                waiting?.Invoke($"another loader is running on {engine.DisplayConnection}; waiting up to {wait.TotalSeconds:0} s for it to finish");
            }
        }

        LoaderBusyException Busy() => new(
            $"another loader is still running on {engine.DisplayConnection} after {wait.TotalSeconds:0} s; nothing was loaded (run again later, or raise --wait)");

        return engine.Kind switch
        {
            EngineKind.Postgres => await ServerLockAsync(engine, "select pg_try_advisory_lock(@key)", "select pg_advisory_unlock(@key)",
                new { key = AdvisoryKey }, clock, wait, Tell, Busy, cancellationToken),
            EngineKind.SqlServer => await ServerLockAsync(engine,
                "declare @result int; exec @result = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive', @LockOwner = 'Session', "
                + "@LockTimeout = 0; select case when @result >= 0 then 1 else 0 end",
                "exec sp_releaseapplock @Resource = @resource, @LockOwner = 'Session'",
                new { resource = AppLockResource }, clock, wait, Tell, Busy, cancellationToken),
            _ => await DuckDbLockAsync((DuckDbEngine)engine, clock, wait, Tell, Busy, cancellationToken),
        };
    }

    private static async Task<IAsyncDisposable> ServerLockAsync(WarehouseEngine engine, string take, string release, object parameters,
        Stopwatch clock, TimeSpan wait, Action tell, Func<LoaderBusyException> busy, CancellationToken cancellationToken)
    {
        var connection = await engine.OpenAsync(cancellationToken);
        try
        {
            while (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(engine.Sql(take), parameters, cancellationToken: cancellationToken)))
            {
                if (clock.Elapsed >= wait)
                {
                    throw busy();
                }

                tell();
                await Task.Delay(Poll, cancellationToken);
            }

            return new Held(async () =>
            {
                try
                {
                    await connection.ExecuteAsync(engine.Sql(release), parameters);
                }
                catch (DbException)
                {
                    // The connection died (a server restart): the lock went with it.
                }
                finally
                {
                    await connection.DisposeAsync();
                }
            });
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task<IAsyncDisposable> DuckDbLockAsync(DuckDbEngine engine, Stopwatch clock, TimeSpan wait, Action tell,
        Func<LoaderBusyException> busy, CancellationToken cancellationToken)
    {
        var gate = DuckDbGates.GetOrAdd(Path.GetFullPath(engine.FilePath), _ => new SemaphoreSlim(1, 1));
        if (!await gate.WaitAsync(TimeSpan.Zero, cancellationToken))
        {
            tell();
            var left = wait - clock.Elapsed;
            if (left <= TimeSpan.Zero || !await gate.WaitAsync(left, cancellationToken))
            {
                throw busy();
            }
        }

        try
        {
            while (true)
            {
                try
                {
                    // Holding the file open keeps other processes out until this loader is done.
                    var connection = await engine.OpenAsync(cancellationToken);
                    return new Held(async () =>
                    {
                        try
                        {
                            await connection.DisposeAsync();
                        }
                        finally
                        {
                            gate.Release();
                        }
                    });
                }
                catch (DuckDBException error) when (IsFileLocked(error))
                {
                    if (clock.Elapsed >= wait)
                    {
                        throw busy();
                    }

                    tell();
                    await Task.Delay(Poll, cancellationToken);
                }
            }
        }
        catch
        {
            gate.Release();
            throw;
        }
    }

    /// <summary>DuckDB's answer when another process has the database file open.</summary>
    public static bool IsFileLocked(DbException error) => error.Message.Contains("Could not set lock on file", StringComparison.Ordinal);

    private sealed class Held(Func<Task> release) : IAsyncDisposable
    {
        private int _released;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                await release();
            }
        }
    }
}
