using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dapper;
using Npgsql;
using Warehouse.Engines;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Unattended;

/// <summary>
/// The server going away mid-load: a throwaway PostgreSQL cluster of its own (so no other test
/// loses its server) is restarted while a `warehouse load` child process is inside a batch. The
/// batch fails cleanly, the loader backs off and loads the file again, and every row is there
/// exactly once. Needs the PostgreSQL server binaries and root (to run them as the postgres user);
/// skips with the reason otherwise.
/// </summary>
public sealed class PostgresRestartTests : IAsyncLifetime
{
    private const int Traces = 200_000;

    private readonly CanonicalFiles _files = new();
    private string? _dataDirectory;
    private int _port;
    private string? _pgCtl;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string ConnectionString => $"Host=127.0.0.1;Port={_port};Username=postgres;Database=postgres;Pooling=false";

    public async ValueTask InitializeAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.EnumerateDirectories("/usr/lib/postgresql").Select(version => Path.Combine(version, "bin"))
                .Where(folder => File.Exists(Path.Combine(folder, "initdb"))).OrderDescending(StringComparer.Ordinal).FirstOrDefault()
            : null;
        if (bin is null || !OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return;
        }

        _pgCtl = Path.Combine(bin, "pg_ctl");
        _dataDirectory = Path.Combine(Path.GetTempPath(), TestDatabases.NewName("wh_pgfault"));
        Directory.CreateDirectory(_dataDirectory);
        await RunAsync("chown", "postgres", _dataDirectory);
        _port = FreePort();
        await AsPostgresAsync($"{Path.Combine(bin, "initdb")} -D {_dataDirectory} -A trust -U postgres --no-sync > {_dataDirectory}.initdb.log 2>&1");
        await AsPostgresAsync($"{_pgCtl} -D {_dataDirectory} -o '-p {_port} -k /tmp -c fsync=off' -l {_dataDirectory}/server.log -w start");
    }

    public async ValueTask DisposeAsync()
    {
        _files.Dispose();
        if (_dataDirectory is not null)
        {
            try
            {
                await AsPostgresAsync($"{_pgCtl} -D {_dataDirectory} -m immediate -w stop");
            }
            finally
            {
                Directory.Delete(_dataDirectory, recursive: true);
                File.Delete(_dataDirectory + ".initdb.log");
            }
        }
    }

    [Fact]
    public async Task A_server_restart_during_a_load_fails_that_batch_and_the_retry_loads_every_row_once()
    {
        if (_dataDirectory is null)
        {
            Assert.Skip("needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) and root to run a throwaway cluster");
        }

        var engine = new PostgresEngine(ConnectionString);
        var path = _files.TraceJsonl("big.jsonl", Traces);
        using var child = WarehouseProcess.Start(engine, _files.Folder, "load", path);

        // Wait until the child is inside the batch, then restart the server under it.
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!await IsLoadingAsync())
        {
            Assert.True(DateTime.UtcNow < deadline && !child.HasExited, "the loader never started its batch");
            await Task.Delay(50, Token);
        }

        await AsPostgresAsync($"{_pgCtl} -D {_dataDirectory} -m fast -w restart");

        var (exitCode, output, error) = await child.WaitAsync(TimeSpan.FromMinutes(4), Token);
        Assert.True(exitCode == 0, output + error);
        Assert.Contains("the database connection failed", output);
        Assert.Contains("loading the file again", output);

        await using var connection = new NpgsqlConnection(ConnectionString);
        Assert.Equal((long)Traces, await connection.ExecuteScalarAsync<long>("select count(*) from quality.trace_summaries"));
        Assert.Equal((long)Traces, await connection.ExecuteScalarAsync<long>("select count(distinct trace_id) from quality.trace_summaries"));
        var batches = (await connection.QueryAsync<(string Status, long? Inserted)>(
            "select status, rows_inserted from etl.load_batches order by batch_id")).ToList();
        // The interrupted batch is failed (or, when the server was down as it ended, left for the next loader to mark abandoned);
        // exactly one batch loaded, and it inserted every row.
        Assert.Equal([("loaded", (long?)Traces)], batches.Where(batch => batch.Status == "loaded"));
        Assert.True(batches.Count >= 2, "the restart should have interrupted a first batch");
        Assert.All(batches.Where(batch => batch.Status != "loaded"), batch => Assert.Contains(batch.Status, new[] { "failed", "running" }));
    }

    private async Task<bool> IsLoadingAsync()
    {
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            return await connection.ExecuteScalarAsync<long>("select count(*) from etl.load_batches where status = 'running'") > 0;
        }
        catch (PostgresException error) when (error.SqlState == "42P01")
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Task AsPostgresAsync(string command) => RunAsync("su", "postgres", "-c", command);

    private static async Task RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(Token);
        var error = process.StandardError.ReadToEndAsync(Token);
        await process.WaitForExitAsync(Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}: {await output}{await error}");
        }
    }
}
